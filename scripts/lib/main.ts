/**
 * The one way a script ends: run `main`, print a thrown error on stderr, and exit with the
 * code once stdout has drained. Writes to a pipe are asynchronous, so exiting straight away
 * would cut a large JSON document short for `| jq`. Write callbacks run in order: the empty
 * write's callback runs after everything written before it has been handed to the pipe.
 */
export function runMain(main: () => Promise<number>, describeError: (err: Error) => string = (err) => err.message): void {
  const exit = (code: number) => process.stdout.write("", () => process.exit(code));
  main().then(exit, (err) => {
    process.stderr.write(`${err instanceof Error ? describeError(err) : String(err)}\n`);
    exit(1);
  });
}
