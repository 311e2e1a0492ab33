import { describe, expect, it } from "vitest";
import { ConcurrencyLimit } from "../../src/concurrency-limit.js";

/** A task that runs until `finish` is called; `running` counts the tasks between start and finish. */
function gatedTasks() {
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const gates: Array<(fail?: boolean) => void> = [];
  const task = (n: number) => () =>
    new Promise<number>((resolve, reject) => {
      order.push(n);
      most = Math.max(most, ++running);
      gates[n] = (fail) => {
        running--;
        if (fail) reject(new Error(`task ${n} failed`));
        else resolve(n);
      };
    });
  return { task, gates, order, most: () => most };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("ConcurrencyLimit", () => {
  it("runs at most `max` tasks at once, the rest in call order as turns free up, failures included", async () => {
    const limit = new ConcurrencyLimit(2);
    const { task, gates, order, most } = gatedTasks();
    const results = [0, 1, 2, 3].map((n) => limit.run(task(n)).catch((e: Error) => e.message));
    await tick();
    expect(order).toEqual([0, 1]);
    gates[1]!(true);
    await tick();
    expect(order).toEqual([0, 1, 2]);
    gates[0]!();
    await tick();
    expect(order).toEqual([0, 1, 2, 3]);
    gates[2]!();
    gates[3]!();
    expect(await Promise.all(results)).toEqual([0, "task 1 failed", 2, 3]);
    expect(most()).toBe(2);
    // Every turn was given back: two more run at once straight away.
    const again = gatedTasks();
    void limit.run(again.task(0));
    void limit.run(again.task(1));
    await tick();
    expect(again.order).toEqual([0, 1]);
  });
});
