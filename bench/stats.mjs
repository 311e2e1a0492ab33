// Timing and summary helpers: every loop here runs a fixed number of times.
import { readFileSync } from "node:fs";

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Median and p99 of samples in ms. */
export function summary(samples) {
  return { n: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** Run `fn` `warmup` times untimed, then `runs` times timed; returns the times in ms. */
export async function timeRuns(runs, fn, warmup = 0) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    await fn(i);
    times.push(now() - t0);
  }
  return times;
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM), or NaN if the process is gone. */
export function procStatus(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Sample a process's VmRSS every `intervalMs` while `fn` runs. Returns fn's result and the peak:
 * the highest sample, or VmHWM if that rose during the call (a spike between samples).
 */
export async function withPeakRss(pid, fn, intervalMs = 20) {
  const hwmBefore = procStatus(pid, "VmHWM");
  let max = procStatus(pid, "VmRSS");
  const timer = setInterval(() => {
    const rss = procStatus(pid, "VmRSS");
    if (rss > max) max = rss;
  }, intervalMs);
  try {
    const result = await fn();
    const rss = procStatus(pid, "VmRSS");
    if (rss > max) max = rss;
    const hwmAfter = procStatus(pid, "VmHWM");
    return { result, peak: hwmAfter > hwmBefore ? Math.max(max, hwmAfter) : max };
  } finally {
    clearInterval(timer);
  }
}

export const MB = 1024 * 1024;
export const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)) + " ms";
export const fmtMB = (bytes) => (bytes / MB).toFixed(1) + " MB";
