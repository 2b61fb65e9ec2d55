/**
 * iota-records: the records/companies example of with-iota, as a real service. A
 * `cmd.record.create.v0` event creates a record, counts it on its company, and announces
 * it with a `fct.record.created.v0` event, all exactly once per command.
 */
import * as z from "zod/mini";
import { parseEvent } from "../lib/events";
import { CREATE, INCREMENT, withIota } from "../lib/iota";

const command = z.object({
  companyId: z.string().check(z.minLength(1, "must not be empty")),
  name: z.string().check(z.minLength(1, "must not be empty")),
});

export const handler = (event: unknown, ctx: unknown) =>
  withIota(event, ctx, {
    func: ({ data, mutation, rapids }) => {
      const { companyId, name } = parseEvent(command, data, "cmd.record.create.v0 data");
      const { id } = mutation.stage({ action: CREATE, table: "records", props: { companyId, name } });
      mutation.stage({ action: INCREMENT, table: "companies", id: companyId, props: { recordCount: 1 } });
      rapids.stage({ type: "fct.record.created.v0", data: { id, companyId, name } });
      return { id };
    },
  });
