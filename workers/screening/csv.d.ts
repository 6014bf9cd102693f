/** `*.csv` files are imported as their text (wrangler.toml `[[rules]] type = "Text"`): the bundled sanctions list. */
declare module '*.csv' {
  const text: string;
  export default text;
}
