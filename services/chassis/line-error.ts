// A problem in one line of some input (an exposition page, a line-protocol body, a JSON-lines
// batch): the message names the line first, as users count it (from 1).
export class LineError extends Error {
  constructor(
    readonly line: number,
    problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}
