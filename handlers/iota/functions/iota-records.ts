/**
 * iota-records: the records/companies example of with-iota, as a real service. A
 * `cmd.record.create.v0` event creates a record, counts it on its company, and announces
 * it with a `fct.record.created.v0` event, all exactly once per command.
 */
import { withIota } from "../index";
import { createRecord } from "../records";

// iota writes no logs of its own (a failure is thrown, and Lambda logs it), so it carries no logger.
export const handler = (event: unknown, context: unknown) => withIota(event, context, { func: createRecord });
