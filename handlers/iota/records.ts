/** The records service's function: plain, so that it runs under any iota engine. */
import * as z from "zod/mini";
import { parseEvent } from "../lib/events";
import { CREATE, type FuncContext, INCREMENT } from "./engine";

const command = z.object({
  companyId: z.string().check(z.minLength(1, "must not be empty")),
  name: z.string().check(z.minLength(1, "must not be empty")),
});

export function createRecord({ data, mutation, rapids }: FuncContext<unknown>): { id: string } {
  const { companyId, name } = parseEvent(command, data, "cmd.record.create.v0 data");
  const { id } = mutation.stage({ action: CREATE, table: "records", props: { companyId, name } });
  mutation.stage({ action: INCREMENT, table: "companies", id: companyId, props: { recordCount: 1 } });
  rapids.stage({ type: "fct.record.created.v0", data: { id, companyId, name } });
  return { id };
}
