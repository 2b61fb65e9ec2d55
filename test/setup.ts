/**
 * Loaded by mocha before any test file. Handler logs are silent unless a test turns them on
 * (see the log tests), so that test output stays readable.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
process.env.POWERTOOLS_SERVICE_NAME ??= "test";
