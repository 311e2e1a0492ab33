/** Runs async tasks one after another, in call order; a failing task does not stop those behind it. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Run `task` once every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
