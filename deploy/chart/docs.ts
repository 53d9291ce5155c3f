/** `npm run docs:chart`: rewrites the values table of helm/vdiguard/README.md from values.yaml. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_DIR, readChartFile, withValuesTable } from './chart.js';

writeFileSync(join(CHART_DIR, 'README.md'), withValuesTable(readChartFile('README.md'), readChartFile('values.yaml')));
