// Reads a process's CPU time and resident memory from /proc (Linux). CPU is utime+stime from
// /proc/<pid>/stat (all threads, in clock ticks), RSS is VmRSS from /proc/<pid>/status. A
// process that is gone reads as undefined, which is how the generator notices a crashed broker.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second (getconf CLK_TCK), 100 if it cannot be read. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds used so far by `pid`, or undefined when it is gone (or a zombie). */
export function cpuSeconds(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based, man 5 proc).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
}

/** Resident set size of `pid` in bytes, or undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m === null ? undefined : Number(m[1]) * 1024;
}

export function processAlive(pid: number): boolean {
  return cpuSeconds(pid) !== undefined;
}
