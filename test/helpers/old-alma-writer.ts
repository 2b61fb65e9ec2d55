/**
 * A stand-in for the cache functions this stack replaces (docs/cutover.md, "alma", names
 * them), for the cutover test: written here from what they do to the
 * tables, request by request, not from their code.
 *
 * - An update puts the whole item (no condition, no event time) and, at the same time, reads
 *   the user: if it is cached and valid (`expiry_date` not passed), the id is added to its list
 *   in memory unless it is there, and the WHOLE user is written back (PutItem); otherwise the
 *   user id is queued for the bulk-update service.
 * - A return or close deletes the item and, the same way, writes the user back without the id.
 * - Only the first record of an SNS event is read.
 *
 * Run concurrently, as SNS's asynchronous invocations run it, two invocations for one user can
 * read the same list and the later write loses the earlier one's change: their race,
 * kept on purpose. `pause` (between the read and the write) is where a test widens it.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  type CacheRecord,
  type LoanMessage,
  loanMessage,
  loanRecord,
  type RequestMessage,
  requestMessage,
  requestRecord,
} from "../../handlers/alma/schema";

export interface OldWriterOptions {
  documents: DynamoDBDocumentClient;
  tables: { users: string; loans: string; requests: string };
  /** Sends a user id to the users queue, as Alma sent it. */
  queueUser: (userId: string) => Promise<void>;
  /** The clock, in ms. */
  now: () => number;
  /** Awaited between reading the user and writing it back. */
  pause?: () => Promise<void>;
}

/** The old functions, by the name this stack gives their successors. */
export type OldFunction = "alma-loan-updated" | "alma-loan-returned" | "alma-request-updated" | "alma-request-closed";

type IdList = "loan_ids" | "request_ids";

export class OldAlmaWriter {
  constructor(private readonly options: OldWriterOptions) {}

  /** One invocation of an old function with an SNS event; a failure rejects (Lambda then retries it). */
  async invoke(fn: OldFunction, snsEvent: { Records: { Sns: { Message: string } }[] }): Promise<void> {
    const message: unknown = JSON.parse(snsEvent.Records[0].Sns.Message);
    switch (fn) {
      case "alma-loan-updated":
        return this.loanUpdated(loanMessage.parse(message));
      case "alma-loan-returned":
        return this.loanReturned(loanMessage.parse(message));
      case "alma-request-updated":
        return this.requestUpdated(requestMessage.parse(message));
      case "alma-request-closed":
        return this.requestClosed(requestMessage.parse(message));
    }
  }

  async loanUpdated(message: LoanMessage): Promise<void> {
    const { id, userId, item } = loanRecord(message);
    await Promise.all([this.put(this.options.tables.loans, item), this.changeUser(userId, "loan_ids", id, "add")]);
  }

  async loanReturned(message: LoanMessage): Promise<void> {
    const { id, userId } = loanRecord(message);
    await Promise.all([this.remove(this.options.tables.loans, { loan_id: id }), this.changeUser(userId, "loan_ids", id, "delete")]);
  }

  async requestUpdated(message: RequestMessage): Promise<void> {
    const { id, userId, item } = requestRecord(message, this.options.now());
    await Promise.all([this.put(this.options.tables.requests, item), this.changeUser(userId, "request_ids", id, "add")]);
  }

  async requestClosed(message: RequestMessage): Promise<void> {
    const { id, userId } = requestRecord(message, this.options.now());
    await Promise.all([
      this.remove(this.options.tables.requests, { request_id: id }),
      this.changeUser(userId, "request_ids", id, "delete"),
    ]);
  }

  private async put(table: string, item: Record<string, unknown>): Promise<void> {
    await this.options.documents.send(new PutCommand({ TableName: table, Item: item }));
  }

  private async remove(table: string, key: Record<string, string>): Promise<void> {
    await this.options.documents.send(new DeleteCommand({ TableName: table, Key: key }));
  }

  /** getValid, then add or delete in memory, then save the whole user. */
  private async changeUser(userId: CacheRecord["userId"], list: IdList, id: string, change: "add" | "delete"): Promise<void> {
    // getValid(undefined) fails the invocation, after the item's own write.
    if (userId === undefined) throw new Error("the message names no user");
    const { Item: user } = await this.options.documents.send(
      new GetCommand({ TableName: this.options.tables.users, Key: { primary_id: userId.toLowerCase() } }),
    );
    if (!user || !(typeof user.expiry_date === "number" && user.expiry_date >= Math.floor(this.options.now() / 1000))) {
      await this.options.queueUser(userId);
      return;
    }
    const ids: string[] = Array.isArray(user[list]) ? [...user[list]] : [];
    const next = change === "add" ? (ids.includes(id) ? ids : [...ids, id]) : ids.filter((v) => v !== id);
    await this.options.pause?.();
    await this.options.documents.send(
      new PutCommand({
        TableName: this.options.tables.users,
        Item: {
          primary_id: user.primary_id,
          loan_ids: user.loan_ids ?? [],
          request_ids: user.request_ids ?? [],
          fee_ids: user.fee_ids ?? [],
          expiry_date: user.expiry_date,
          [list]: next,
        },
      }),
    );
  }
}
