import type { Command } from "./command.js";
import type { WaitOptions } from "./session-types.js";

/** One progress update of a running command. */
export interface Progress {
  /** Milliseconds since the command started; grows with every update. */
  elapsedMs: number;
  /** The last non-empty line it printed, if any. */
  message?: string;
}

/** How often progress is looked at, and the longest silence between two updates. */
const TICK_MS = 500;
const HEARTBEAT_MS = 1000;

/**
 * Call `onProgress` while a caller waits on `command`: when its last line changed (at most
 * twice a second) and at least every second, so a client that resets its request timeout on
 * progress never gives up on a quiet command. Returns the function that stops the updates.
 */
export function watchProgress(command: Command, onProgress: (progress: Progress) => void): () => void {
  let sentAt = Date.now();
  let sentMessage = "";
  let sentElapsed = -1;
  const timer = setInterval(() => {
    const now = Date.now();
    const message = command.lastOutputLine;
    if (message === sentMessage && now - sentAt < HEARTBEAT_MS) return;
    const elapsedMs = command.elapsedMs(now);
    if (elapsedMs <= sentElapsed) return; // it ended: the result comes next
    sentAt = now;
    sentMessage = message;
    sentElapsed = elapsedMs;
    onProgress(message ? { elapsedMs, message } : { elapsedMs });
  }, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Wait until `command` ends or `ms` pass; aborting `signal` interrupts it and waits for the end. */
export async function follow(command: Command, ms: number, options: WaitOptions): Promise<void> {
  const { signal } = options;
  const onAbort = () => void command.stop("interrupted", true);
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort);
  try {
    const waited = ms === Infinity ? command.whenEnded() : command.wait(ms);
    await watch(command, waited, options.onProgress);
    if (signal?.aborted) await command.whenEnded();
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Await `waiting`, sending progress of `command` meanwhile. */
export async function watch(command: Command, waiting: Promise<void>, onProgress?: (progress: Progress) => void): Promise<void> {
  const stop = onProgress && command.running ? watchProgress(command, onProgress) : undefined;
  try {
    await waiting;
  } finally {
    stop?.();
  }
}
