/**
 * The layering DESIGN.md draws (Layout): `core/` imports nothing runtime-specific and no layer
 * above it; `workers/` and `durable-objects/` never import `regional/`, nor the reverse; nothing
 * under `durable-objects/` imports `workers/` (the shared contract lives in `core/`); and `core/`
 * has no import cycle.
 *
 * Imports are read with the TypeScript parser (a SourceFile walk), not a regex, so every form
 * counts: `import … from`, `import type`, `export … from`, `import x = require(…)`, the type
 * position `import('…').T`, and a dynamic `import('…')` whose argument is a literal. A relative
 * specifier is resolved to its file; one that resolves to nothing fails the suite too, because an
 * edge the detector cannot place is an edge it cannot check.
 *
 * The first describe block runs the same detector over a small in-memory file set with a known
 * cycle and known forbidden edges, so the checks on the real tree cannot pass vacuously.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const scannedLayers = ['core', 'workers', 'durable-objects', 'regional'] as const;
/** Files are walked by an explicit stack; a tree deeper than this is a symlink loop, not source. */
const directoryDepthMax = 32;

type Layer = 'core' | 'workers' | 'durable-objects' | 'regional' | 'cli' | 'other';

/** One import edge as written in a file. `resolved` is repo-relative (posix), null for a package or runtime module. */
interface ImportEdge {
  from: string;
  specifier: string;
  resolved: string | null;
  typeOnly: boolean;
  line: number;
}

interface SourceSet {
  /** Repo-relative posix paths of the .ts files to check. */
  files: readonly string[];
  read: (file: string) => string;
  isFile: (file: string) => boolean;
}

// -- Reading imports -------------------------------------------------------------------------

interface WrittenImport {
  specifier: string;
  typeOnly: boolean;
  line: number;
}

/** Every module specifier a file names, from its syntax tree. Iterative walk: no recursion on input. */
function writtenImports(fileName: string, text: string): WrittenImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: WrittenImport[] = [];
  const add = (literal: ts.Node, typeOnly: boolean) => {
    if (!ts.isStringLiteralLike(literal)) return;
    found.push({ specifier: literal.text, typeOnly, line: source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1 });
  };
  const pending: ts.Node[] = [source];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      add(node.moduleSpecifier, clause !== undefined && (clause.isTypeOnly || importsOnlyTypes(clause)));
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      add(node.moduleSpecifier, node.isTypeOnly || (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((element) => element.isTypeOnly)));
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined) {
      add(node.arguments[0], false);
    }
    node.forEachChild((child) => {
      pending.push(child);
    });
  }
  return found.sort((a, b) => a.line - b.line);
}

/** `import { type A, type B } from …` is erased like `import type`; a default or namespace binding is not. */
function importsOnlyTypes(clause: ts.ImportClause): boolean {
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((element) => element.isTypeOnly);
}

/** A relative specifier to the repo-relative file it names (as written, or with the extensions TypeScript would try). */
function resolveRelative(from: string, specifier: string, isFile: (file: string) => boolean): string | null {
  // A bundler query (`.wasm?module`, `?raw`) names how the file is loaded, not another file.
  const withoutQuery = specifier.replace(/\?[a-z]+$/, '');
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), withoutQuery));
  const candidates = [base, `${base}.ts`, `${base}/index.ts`];
  if (base.endsWith('.js')) candidates.push(`${base.slice(0, -'.js'.length)}.ts`);
  return candidates.find((candidate) => !candidate.startsWith('../') && isFile(candidate)) ?? null;
}

function importEdges(sources: SourceSet): { edges: ImportEdge[]; unresolved: ImportEdge[] } {
  const edges: ImportEdge[] = [];
  const unresolved: ImportEdge[] = [];
  for (const file of sources.files) {
    for (const written of writtenImports(file, sources.read(file))) {
      const relative = written.specifier.startsWith('./') || written.specifier.startsWith('../');
      const edge: ImportEdge = { from: file, specifier: written.specifier, resolved: relative ? resolveRelative(file, written.specifier, sources.isFile) : null, typeOnly: written.typeOnly, line: written.line };
      if (relative && edge.resolved === null) unresolved.push(edge);
      else edges.push(edge);
    }
  }
  return { edges, unresolved };
}

// -- The rules --------------------------------------------------------------------------------

function layerOf(file: string): Layer {
  const top = file.split('/')[0];
  return top === 'core' || top === 'workers' || top === 'durable-objects' || top === 'regional' || top === 'cli' ? top : 'other';
}

const nodeBuiltins = new Set(builtinModules);

/** Why this edge breaks the layering, or null if it does not. */
function boundaryViolation(edge: ImportEdge): string | null {
  const from = layerOf(edge.from);
  if (edge.resolved === null) {
    if (from !== 'core') return null;
    if (edge.specifier.startsWith('cloudflare:')) return 'core/ imports a Workers runtime module';
    if (edge.specifier.startsWith('node:') || nodeBuiltins.has(edge.specifier) || nodeBuiltins.has(edge.specifier.split('/')[0]!)) return 'core/ imports a Node runtime module';
    return null;
  }
  const to = layerOf(edge.resolved);
  if (from === 'core' && (to === 'workers' || to === 'durable-objects' || to === 'regional' || to === 'cli')) return `core/ imports ${to}/`;
  if (from === 'durable-objects' && to === 'workers') return 'durable-objects/ imports workers/ (move the shared contract to core/)';
  if ((from === 'workers' || from === 'durable-objects') && to === 'regional') return `${from}/ imports regional/`;
  if (from === 'regional' && (to === 'workers' || to === 'durable-objects')) return `regional/ imports ${to}/`;
  return null;
}

function describeEdge(edge: ImportEdge): string {
  return `${edge.from}:${edge.line} ${edge.typeOnly ? 'import type' : 'import'} '${edge.specifier}'${edge.resolved !== null && edge.resolved !== edge.specifier ? ` (${edge.resolved})` : ''}`;
}

function boundaryViolations(edges: readonly ImportEdge[]): string[] {
  return edges.flatMap((edge) => {
    const why = boundaryViolation(edge);
    return why === null ? [] : [`${describeEdge(edge)}: ${why}`];
  });
}

/**
 * The import cycles among `files`, one per strongly connected component (Tarjan, iterative), each
 * given as a concrete closed path `a → b → … → a` with the line of every step. Type-only edges
 * count: a type cycle still ties the modules together, and the message marks them.
 */
function importCycles(files: readonly string[], edges: readonly ImportEdge[]): string[] {
  const inSet = new Set(files);
  const next = new Map<string, ImportEdge[]>(files.map((file) => [file, []]));
  for (const edge of edges) if (edge.resolved !== null && inSet.has(edge.from) && inSet.has(edge.resolved)) next.get(edge.from)!.push(edge);

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const root of files) {
    if (index.has(root)) continue;
    const frames: Array<{ file: string; edge: number }> = [{ file: root, edge: 0 }];
    index.set(root, index.size);
    low.set(root, index.get(root)!);
    stack.push(root);
    onStack.add(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const out = next.get(frame.file)!;
      if (frame.edge < out.length) {
        const target = out[frame.edge++]!.resolved!;
        if (!index.has(target)) {
          index.set(target, index.size);
          low.set(target, index.get(target)!);
          stack.push(target);
          onStack.add(target);
          frames.push({ file: target, edge: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.file, Math.min(low.get(frame.file)!, index.get(target)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent !== undefined) low.set(parent.file, Math.min(low.get(parent.file)!, low.get(frame.file)!));
      if (low.get(frame.file) === index.get(frame.file)) {
        const component: string[] = [];
        for (;;) {
          const member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
          if (member === frame.file) break;
        }
        const selfLoop = out.some((edge) => edge.resolved === frame.file);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components.map((component) => describeCycle(component, next));
}

/** A shortest closed path through the component's first file, found breadth-first inside the component. */
function describeCycle(component: readonly string[], next: ReadonlyMap<string, ImportEdge[]>): string {
  const members = new Set(component);
  const start = component[0]!;
  const via = new Map<string, ImportEdge>();
  const queue = [start];
  let closing: ImportEdge | undefined;
  for (let head = 0; head < queue.length && closing === undefined; head++) {
    for (const edge of next.get(queue[head]!)!) {
      const target = edge.resolved!;
      if (!members.has(target)) continue;
      if (target === start) {
        closing = edge;
        break;
      }
      if (!via.has(target)) {
        via.set(target, edge);
        queue.push(target);
      }
    }
  }
  const steps: ImportEdge[] = [closing!];
  for (let at = closing!.from; at !== start; at = via.get(at)!.from) steps.unshift(via.get(at)!);
  const path = [start, ...steps.map((edge) => `${edge.resolved} (${edge.from}:${edge.line}${edge.typeOnly ? ', type-only' : ''})`)].join(' → ');
  const inside = component.flatMap((file) => next.get(file)!.filter((edge) => members.has(edge.resolved!)).map((edge) => `${edge.from}:${edge.line} → ${edge.resolved}${edge.typeOnly ? ' (type-only)' : ''}`));
  return `cycle of ${component.length} file${component.length === 1 ? '' : 's'} [${component.join(', ')}]: ${path}; every import inside it: ${inside.join(', ')}`;
}

// -- The tree on disk -------------------------------------------------------------------------

function sourceFilesUnder(layer: string): string[] {
  const files: string[] = [];
  const pending: Array<{ dir: string; depth: number }> = [{ dir: layer, depth: 0 }];
  while (pending.length > 0) {
    const { dir, depth } = pending.pop()!;
    if (depth > directoryDepthMax) throw new Error(`import-boundaries: ${dir} is deeper than ${directoryDepthMax} levels`);
    for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
      const relative = `${dir}/${entry.name}`;
      if (entry.isDirectory() && entry.name !== 'node_modules') pending.push({ dir: relative, depth: depth + 1 });
      else if (entry.isFile() && entry.name.endsWith('.ts')) files.push(relative);
    }
  }
  return files;
}

function repoSources(): SourceSet {
  return {
    files: scannedLayers.flatMap((layer) => sourceFilesUnder(layer)).sort(),
    read: (file) => readFileSync(path.join(repoRoot, file), 'utf8'),
    isFile: (file) => {
      try {
        return statSync(path.join(repoRoot, file)).isFile();
      } catch {
        return false;
      }
    },
  };
}

function memorySources(files: Record<string, string>): SourceSet {
  return { files: Object.keys(files).filter((file) => file.endsWith('.ts')).sort(), read: (file) => files[file]!, isFile: (file) => file in files };
}

// -- Tests ------------------------------------------------------------------------------------

describe('import-boundary detector, on a synthetic tree', () => {
  const synthetic = memorySources({
    'core/a.ts': `import { b } from './b.ts';\nexport const a = b;`,
    'core/b.ts': `export type { C } from './c.ts';\nexport const b = 1;`,
    'core/c.ts': `import type { A } from './a';\nexport type C = A;`,
    'core/leaf.ts': `import { readFileSync } from 'fs';\nimport { z } from 'zod';\nexport type Env = import('../workers/env.ts').Env;`,
    'core/clean.ts': `import { b } from './b.ts';\nexport const clean = b;`,
    'workers/env.ts': `import { DurableObject } from 'cloudflare:workers';\nexport type Env = { a: typeof DurableObject };`,
    'workers/app.ts': `import { a } from '../core/a.ts';\nimport { CorridorWindow } from '../durable-objects/window.ts';\nexport { a, CorridorWindow };`,
    'durable-objects/window.ts': `export class CorridorWindow {\n  async env() {\n    return import('../workers/env.ts');\n  }\n}`,
    'durable-objects/sneaky.ts': `import type { Commit } from '../regional/commit.ts';\nexport type { Commit };`,
    'regional/commit.ts': `export * from '../durable-objects/window.ts';\nexport type Commit = 1;`,
    'regional/missing.ts': `import { gone } from './gone.ts';`,
  });
  const { edges, unresolved } = importEdges(synthetic);

  it('reads every import form from the syntax tree, and flags a relative import it cannot resolve', () => {
    const forms = (file: string) => edges.filter((edge) => edge.from === file).map((edge) => ({ specifier: edge.specifier, resolved: edge.resolved, typeOnly: edge.typeOnly }));
    expect(forms('core/b.ts')).toEqual([{ specifier: './c.ts', resolved: 'core/c.ts', typeOnly: true }]);
    expect(forms('core/c.ts')).toEqual([{ specifier: './a', resolved: 'core/a.ts', typeOnly: true }]);
    expect(forms('core/leaf.ts')).toEqual([
      { specifier: 'fs', resolved: null, typeOnly: false },
      { specifier: 'zod', resolved: null, typeOnly: false },
      { specifier: '../workers/env.ts', resolved: 'workers/env.ts', typeOnly: true },
    ]);
    expect(forms('durable-objects/window.ts')).toEqual([{ specifier: '../workers/env.ts', resolved: 'workers/env.ts', typeOnly: false }]);
    expect(forms('regional/commit.ts')).toEqual([{ specifier: '../durable-objects/window.ts', resolved: 'durable-objects/window.ts', typeOnly: false }]);
    expect(unresolved.map(describeEdge)).toEqual(["regional/missing.ts:1 import './gone.ts'"]);
  });

  it('finds every forbidden edge and nothing else', () => {
    expect(boundaryViolations(edges)).toEqual([
      "core/leaf.ts:1 import 'fs': core/ imports a Node runtime module",
      "core/leaf.ts:3 import type '../workers/env.ts' (workers/env.ts): core/ imports workers/",
      "durable-objects/sneaky.ts:1 import type '../regional/commit.ts' (regional/commit.ts): durable-objects/ imports regional/",
      "durable-objects/window.ts:3 import '../workers/env.ts' (workers/env.ts): durable-objects/ imports workers/ (move the shared contract to core/)",
      "regional/commit.ts:1 import '../durable-objects/window.ts' (durable-objects/window.ts): regional/ imports durable-objects/",
    ]);
  });

  it('finds the cycle, names its files and walks it, and finds none in an acyclic set', () => {
    const core = synthetic.files.filter((file) => layerOf(file) === 'core');
    expect(importCycles(core, edges)).toEqual([
      'cycle of 3 files [core/a.ts, core/b.ts, core/c.ts]: core/a.ts → core/b.ts (core/a.ts:1) → core/c.ts (core/b.ts:1, type-only) → core/a.ts (core/c.ts:1, type-only); '
        + 'every import inside it: core/a.ts:1 → core/b.ts, core/b.ts:1 → core/c.ts (type-only), core/c.ts:1 → core/a.ts (type-only)',
    ]);
    expect(importCycles(['core/clean.ts', 'core/b.ts', 'core/leaf.ts'], edges)).toEqual([]);
    const selfImport = importEdges(memorySources({ 'core/self.ts': `export * from './self.ts';` })).edges;
    expect(importCycles(['core/self.ts'], selfImport)).toEqual(['cycle of 1 file [core/self.ts]: core/self.ts → core/self.ts (core/self.ts:1); every import inside it: core/self.ts:1 → core/self.ts']);
  });
});

describe('import boundaries of this repository', () => {
  const sources = repoSources();
  const { edges, unresolved } = importEdges(sources);

  it('reads a plausible tree: every layer has files, and the files import each other', () => {
    for (const layer of scannedLayers) expect(sources.files.filter((file) => layerOf(file) === layer).length, `.ts files under ${layer}/`).toBeGreaterThan(0);
    expect(edges.filter((edge) => edge.resolved !== null && layerOf(edge.resolved) === 'core').length).toBeGreaterThan(scannedLayers.length);
  });

  it('resolves every relative import to a file', () => {
    expect(unresolved.map(describeEdge)).toEqual([]);
  });

  it('keeps the layers apart: core/ below everything, the edge apart from regional/, durable-objects/ off workers/', () => {
    expect(boundaryViolations(edges)).toEqual([]);
  });

  it('has no import cycle inside core/', () => {
    const core = sources.files.filter((file) => layerOf(file) === 'core');
    expect(importCycles(core, edges)).toEqual([]);
  });
});
