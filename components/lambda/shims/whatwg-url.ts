/**
 * Stands in for the `whatwg-url` package in bundles. The mongodb driver's connection-string
 * parser uses only its URL class, and Node's global URL implements the same WHATWG
 * standard; the package would add about 260 KB of Unicode tables to the bundle.
 */
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
