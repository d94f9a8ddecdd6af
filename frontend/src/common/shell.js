// The page header: the project switcher submits itself when a project is picked.
const switcher = document.getElementById('project-switcher');
switcher?.addEventListener('change', () => switcher.form.requestSubmit());
