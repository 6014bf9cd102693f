// Module types the Worker bundle gives these imports (wrangler.toml [[rules]], the vitest plugin
// reads the same file): policy text as strings, the Cedar engine as a compiled WebAssembly.Module.
declare module '*.cedar' {
  const text: string;
  export default text;
}
declare module '*.cedarschema' {
  const text: string;
  export default text;
}
declare module '*.wasm?module' {
  const module: WebAssembly.Module;
  export default module;
}
