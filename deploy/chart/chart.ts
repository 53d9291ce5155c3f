/**
 * Reading the Helm chart without helm: its values, their `## @param` documentation, the schema, and
 * what the templates reference. Used by the chart's tests and by `npm run docs:chart`, which writes
 * the values table of helm/vdiguard/README.md.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/** The repository's root (this file runs from dist/deploy/chart/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHART_DIR = join(REPO_ROOT, 'helm', 'vdiguard');

export type Values = Record<string, unknown>;

export function readChartFile(relative: string): string {
  return readFileSync(join(CHART_DIR, relative), 'utf8');
}

export function loadValues(): Values {
  return parseYaml(readChartFile('values.yaml')) as Values;
}

export function loadSchema(): Record<string, unknown> {
  return JSON.parse(readChartFile('values.schema.json')) as Record<string, unknown>;
}

/** ajv as Helm validates: every error at once, draft-07, union types allowed. */
export function schemaValidator(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, strictRequired: false });
  return ajv.compile(loadSchema());
}

/** Errors as "path: message" lines, the way an admin reads them. */
export function formatErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : '';
    return `${e.instancePath || '/'}: ${e.message ?? e.keyword}${extra}`;
  });
}

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's merge of an override file over values.yaml: maps merge key by key, anything else replaces. */
export function mergeValues(base: unknown, override: unknown): unknown {
  if (!isMap(base) || !isMap(override)) return override === undefined ? base : override;
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = mergeValues(base[k], v);
  return out;
}

/** The ci/values-*.yaml files, by name. */
export function ciValueFiles(): Map<string, Values> {
  const dir = join(CHART_DIR, 'ci');
  return new Map(
    readdirSync(dir)
      .filter((f) => /^values-.*\.yaml$/.test(f))
      .sort()
      .map((f) => [f, parseYaml(readFileSync(join(dir, f), 'utf8')) as Values]),
  );
}

/** Follows a dotted path through nested maps; undefined when a step is missing. */
export function valueAt(values: unknown, path: string): unknown {
  let node: unknown = values;
  for (const key of path.split('.')) {
    if (!isMap(node) || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

/** True when the path exists (parsed YAML has no undefined values, so a missing step is the only undefined). */
export function hasPath(values: unknown, path: string): boolean {
  return valueAt(values, path) !== undefined;
}

/** The schema node for a dotted values path, following $ref; undefined when the schema has no such property. */
export function schemaAt(schema: Record<string, unknown>, path: string): Record<string, unknown> | undefined {
  const defs = (schema.definitions ?? {}) as Record<string, Record<string, unknown>>;
  const deref = (node: Record<string, unknown>): Record<string, unknown> => {
    const ref = node.$ref as string | undefined;
    return ref ? deref(defs[ref.replace('#/definitions/', '')]!) : node;
  };
  let node: Record<string, unknown> | undefined = deref(schema);
  for (const key of path.split('.')) {
    const props = node?.properties as Record<string, Record<string, unknown>> | undefined;
    if (!props || !(key in props)) return undefined;
    node = deref(props[key]!);
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// ## @param documentation and the README table

export interface Param {
  readonly path: string;
  readonly description: string;
  readonly section: string;
}

/** Every `## @param path description` of values.yaml, in order, with its `## @section`. */
export function parseParams(valuesYaml: string): Param[] {
  const params: Param[] = [];
  let section = '';
  for (const line of valuesYaml.split('\n')) {
    const s = /^\s*## @section (.+)$/.exec(line);
    if (s) section = s[1]!.trim();
    const p = /^\s*## @param (\S+) (.+)$/.exec(line);
    if (p) params.push({ path: p[1]!, description: p[2]!.trim(), section });
  }
  return params;
}

/** The paths that need a @param: scalars, lists and empty maps, unless an ancestor's @param covers them. */
export function valueLeaves(values: unknown, prefix = ''): string[] {
  if (!isMap(values) || (Object.keys(values).length === 0 && prefix)) return [prefix];
  return Object.entries(values).flatMap(([k, v]) => valueLeaves(v, prefix ? `${prefix}.${k}` : k));
}

function formatDefault(v: unknown): string {
  if (typeof v === 'string') return v === '' ? '`""`' : `\`${v}\``;
  return `\`${JSON.stringify(v)}\``;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** The README's values table: one table per section, generated from the @param comments. */
export function valuesTable(valuesYaml: string): string {
  const values = parseYaml(valuesYaml) as Values;
  const out: string[] = [];
  let section: string | undefined;
  for (const p of parseParams(valuesYaml)) {
    if (p.section !== section) {
      section = p.section;
      if (out.length) out.push('');
      out.push(`### ${section}`, '', '| name | description | default |', '| --- | --- | --- |');
    }
    out.push(`| \`${p.path}\` | ${cell(p.description)} | ${cell(formatDefault(valueAt(values, p.path)))} |`);
  }
  return out.join('\n');
}

const BEGIN = '<!-- values:begin (npm run docs:chart) -->';
const END = '<!-- values:end -->';

export function withValuesTable(readme: string, valuesYaml: string): string {
  const from = readme.indexOf(BEGIN);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`the chart README has no ${BEGIN} ... ${END} section`);
  return `${readme.slice(0, from + BEGIN.length)}\n${valuesTable(valuesYaml)}\n${readme.slice(to)}`;
}

// ---------------------------------------------------------------------------------------------
// Templates, read without rendering

export interface Template {
  readonly name: string;
  readonly text: string;
}

export function loadTemplates(): Template[] {
  const dir = join(CHART_DIR, 'templates');
  return readdirSync(dir)
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

/**
 * A template as plain YAML: comments and lines that hold only template actions are dropped, other
 * actions become a placeholder. Both branches of an if/else stay, so keys may repeat (the last wins);
 * what remains shows the structure a reviewer sees.
 */
export function stripActions(text: string): string {
  return text
    .replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '')
    .split('\n')
    .filter((line) => line.replace(/\{\{[\s\S]*?\}\}/g, '').trim() !== '' || line.trim() === '')
    .map((line) => line.replace(/\{\{[\s\S]*?\}\}/g, 'TEMPLATED'))
    .join('\n');
}

/** The YAML documents of a stripped template. */
export function templateDocuments(text: string): Values[] {
  return parseAllDocuments(stripActions(text), { uniqueKeys: false })
    .map((doc) => {
      if (doc.errors.length) throw new Error(doc.errors.map((e) => e.message).join('; '));
      return doc.toJS() as Values | null;
    })
    .filter((d): d is Values => d !== null);
}

/**
 * Every values path the templates read: `.Values.a.b`, and `$x.c` where `$x := .Values.a` (or an
 * alias of an alias) in the same file. Paths reached through `index` with a variable key are listed
 * by the caller's expansion (component loops), not here.
 */
export function referencedValuePaths(text: string): string[] {
  const aliases = new Map<string, string>();
  for (const m of text.matchAll(/\$(\w+)\s*:=\s*(\$\w+|(?:\.context)?\.Values)((?:\.\w+)*)/g)) {
    const base = m[2]!.startsWith('$') ? aliases.get(m[2]!.slice(1)) : '';
    if (base === undefined) continue;
    aliases.set(m[1]!, [base, m[3]!.slice(1)].filter(Boolean).join('.'));
  }
  const paths = new Set<string>();
  for (const m of text.matchAll(/(?:\$\.|\.context\.|\.)Values((?:\.\w+)+)/g)) paths.add(m[1]!.slice(1));
  for (const m of text.matchAll(/\$(\w+)((?:\.\w+)+)/g)) {
    const base = aliases.get(m[1]!);
    if (base !== undefined) paths.add([base, m[2]!.slice(1)].filter(Boolean).join('.'));
  }
  return [...paths].filter((p) => p !== '').sort();
}
