// The world map of minutes by country: real country geometry (world-atlas, Natural Earth 1:110m)
// drawn by chartjs-chart-geo. Loaded on demand: it is the heaviest part of the dashboard.
import { ChoroplethController, ColorLogarithmicScale, GeoFeature, ProjectionScale, topojson } from 'chartjs-chart-geo';
import world from 'world-atlas/countries-110m.json';
import { Chart, draw } from '../common/charts.js';
import { alpha2FromNumeric, countryName } from '../common/countries.js';
import { minutes } from '../common/format.js';

Chart.register(ChoroplethController, ColorLogarithmicScale, GeoFeature, ProjectionScale);

const countries = topojson.feature(world, world.objects.countries).features.filter((f) => f.properties.name !== 'Antarctica');

/** valueByCountry: Map of ISO alpha-2 code -> minutes */
export function drawMap(container, valueByCountry) {
  const data = countries.map((feature) => {
    const code = alpha2FromNumeric(feature.id);
    return { feature, code, value: valueByCountry.get(code) ?? Number.NaN }; // NaN: drawn in the 'missing' colour
  });
  return draw(container, {
    type: 'choropleth',
    label: 'World map of minutes by country',
    data: { labels: data.map((d) => d.feature.properties.name), datasets: [{ label: 'Streamed minutes', data, outline: countries }] },
    options: {
      showOutline: true,
      showGraticule: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => `${countryName(c.raw.code) || c.raw.feature.properties.name}: ${minutes(c.raw.value)}` } },
      },
      scales: {
        projection: { axis: 'x', projection: 'equalEarth' },
        // logarithmic: one big country must not wash out all the others
        color: { type: 'colorLogarithmic', axis: 'x', interpolate: 'blues', missing: '#f1f5f9', legend: { position: 'bottom-left', align: 'right' },
          ticks: { callback: (v) => minutes(v) } },
      },
    },
  }, { className: 'map' });
}
