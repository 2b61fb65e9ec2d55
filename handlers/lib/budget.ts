/**
 * The time an invocation has to start work: Lambda's deadline
 * (`context.getRemainingTimeInMillis()`) minus a margin for finishing what is under way and
 * reporting. When it runs out, a handler starts nothing new and throws, naming what was not
 * done, so that the event source retries the event instead of Lambda killing it mid-way.
 */
export class TimeBudget {
  constructor(
    /** When new work must stop, in ms since the epoch; Infinity when there is no deadline. */
    private readonly stopAt: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The budget of an invocation: its deadline minus `marginMs`, or none outside Lambda. */
  static fromContext(context: unknown, marginMs: number, now: () => number = Date.now): TimeBudget {
    const remaining = (context as { getRemainingTimeInMillis?: () => number } | null)?.getRemainingTimeInMillis?.();
    return new TimeBudget(typeof remaining === "number" ? now() + remaining - marginMs : Infinity, now);
  }

  static unbounded(): TimeBudget {
    return new TimeBudget(Infinity);
  }

  remainingMs(): number {
    return Math.max(0, this.stopAt - this.now());
  }

  exhausted(): boolean {
    return this.remainingMs() <= 0;
  }
}

/** The invocation's time ran out before this work could start or finish. */
export class BudgetExhaustedError extends Error {
  constructor(what: string) {
    super(`the invocation's time budget ran out before ${what}`);
    this.name = "BudgetExhaustedError";
  }
}
