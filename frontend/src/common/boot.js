// The page's boot data, written by the server into <script type="application/json" id="boot">.
export const boot = JSON.parse(document.getElementById('boot')?.textContent || '{}');
export const projectId = boot.project?.id;
