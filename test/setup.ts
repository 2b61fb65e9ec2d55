/**
 * Loaded by mocha before any test file. Handler logs are silent unless a test turns them on
 * (see the log tests), so that test output stays readable.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
process.env.POWERTOOLS_SERVICE_NAME ??= "test";
// The functions run on nodejs22.x; the SDK's warning about this machine's Node 20 is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
