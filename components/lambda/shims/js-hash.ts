/**
 * Stands in for the SDK's pure-JavaScript SHA-256, MD5 and CRC32 (about 5 KB) in the bundles.
 * The SDK uses them only where Node lacks the native ones (`crypto.createHash("sha256")`,
 * `createHash("md5")`, `zlib.crc32`), which Lambda's Node 22 has: the native classes are
 * picked when the module loads, and these are never made. If one is, it says why.
 */
function noFallback(algorithm: string): never {
  throw new Error(
    `this Node has no native ${algorithm}, and the SDK's JavaScript ${algorithm} is not bundled (components/lambda/bundle.ts, sdkTrims)`,
  );
}

export class Sha256Js {
  constructor() {
    noFallback("SHA-256");
  }
}

export class Md5Js {
  constructor() {
    noFallback("MD5");
  }
}

export class Crc32Js {
  constructor() {
    noFallback("CRC32");
  }
}
