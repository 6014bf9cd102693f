/**
 * CPU time of the workerd processes under a process, read from /proc (Linux): utime + stime of
 * every `workerd` in the tree below `rootPid`, in milliseconds. The benchmark reads it before and
 * after a run and divides the difference by the payments accepted, so the figure is what the
 * runtime spent (the Worker, its Durable Objects, storage, and under `wrangler dev` the dev proxy's
 * own workerd), never the load generator's or the Node processes' beside it.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcessStat {
  pid: number;
  parentPid: number;
  command: string;
  cpuTicks: number;
}

function readStat(pid: number): ProcessStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited between the listing and the read
  }
  // The command sits in parentheses and may itself contain spaces or parentheses: split after the last ')'.
  const commandEnd = text.lastIndexOf(')');
  const command = text.slice(text.indexOf('(') + 1, commandEnd);
  const fields = text.slice(commandEnd + 2).split(' ');
  // fields[0] is field 3 of proc(5): state; ppid is field 4, utime 14, stime 15.
  return { pid, parentPid: Number(fields[1]), command, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function allProcesses(): ProcessStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((stat): stat is ProcessStat => stat !== null);
}

/** The pids of every workerd process in the tree below (and including) rootPid. */
export function workerdPids(rootPid: number): number[] {
  const processes = allProcesses();
  const children = new Map<number, ProcessStat[]>();
  for (const stat of processes) children.set(stat.parentPid, [...(children.get(stat.parentPid) ?? []), stat]);
  const found: number[] = [];
  const pending = [rootPid];
  const seen = new Set<number>();
  while (pending.length > 0) {
    const pid = pending.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    for (const child of children.get(pid) ?? []) {
      if (child.command === 'workerd') found.push(child.pid);
      pending.push(child.pid);
    }
  }
  return found;
}

/** Summed utime + stime of the given processes, in ms (a process that has exited counts 0). */
export function cpuMsOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.cpuTicks ?? 0;
  return (ticks * 1_000) / clockTicksPerSecond;
}
