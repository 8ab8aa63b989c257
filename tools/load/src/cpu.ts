import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

interface ProcessEntry {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function readProcessTable(): Map<number, ProcessEntry> {
  const table = new Map<number, ProcessEntry>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    table.set(Number(name), { ppid: Number(fields[1]), ticks });
  }
  return table;
}

/**
 * CPU time the whole machine spent busy so far (all cores, every process), in milliseconds,
 * from /proc/stat: with the figures of our own processes, what the rest of the machine used.
 */
export function machineBusyMs(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / clockTicks();
}

/** Processes by role, e.g. `{ server: [pid], postgres: [pid, ...] }`. */
export type ProcessGroups = Record<string, readonly number[]>;

/**
 * CPU time used so far, in milliseconds, by each group: its processes and all their descendants
 * (PostgreSQL backends are children of the postmaster), except the processes of another group
 * and theirs (the embedded PostgreSQL is a child of the chat server, and counts as `postgres`).
 * Children that already exited and were reaped count through their parent's cutime/cstime, so a
 * backend that ends between two samples is not lost. Take the difference of two samples.
 */
export function cpuTimeMs(groups: ProcessGroups): Record<string, number> {
  const table = readProcessTable();
  const children = new Map<number, number[]>();
  for (const [pid, entry] of table) {
    const list = children.get(entry.ppid) ?? [];
    list.push(pid);
    children.set(entry.ppid, list);
  }
  const roots = new Set(Object.values(groups).flat());
  const perTick = 1000 / clockTicks();
  const times: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) {
    const seen = new Set<number>();
    const stack = pids.filter((pid) => table.has(pid));
    let ticks = 0;
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      if (seen.has(pid)) continue;
      seen.add(pid);
      ticks += table.get(pid)?.ticks ?? 0;
      for (const child of children.get(pid) ?? []) if (!roots.has(child)) stack.push(child);
    }
    times[name] = ticks * perTick;
  }
  return times;
}

/** CPU over a measured window. */
export interface WindowCpu {
  /** Of the system under test, by role, ms. */
  cpuMs: Record<string, number>;
  /** The load generator's, in % of one core. */
  generatorCpuPercent: number;
  /** Every other process on the machine (neither measured nor the generator), in % of one core. */
  otherCpuPercent: number;
}

const GENERATOR = '(generator)';

/**
 * Samples CPU when the window opens (`opensAt`, epoch ms) and again at `end()`: the system under
 * test's processes by role, the generator's, and the whole machine's (/proc/stat), whose rest is
 * another job's noise.
 */
export function cpuWindow(
  processes: () => ProcessGroups,
  generator: readonly number[],
  opensAt: number,
): { end(): Promise<WindowCpu> } {
  const sample = () => ({
    at: Date.now(),
    busy: machineBusyMs(),
    groups: cpuTimeMs({ ...processes(), [GENERATOR]: generator }),
  });
  const first = new Promise<ReturnType<typeof sample>>((resolve) => {
    setTimeout(() => resolve(sample()), Math.max(0, opensAt - Date.now()));
  });
  return {
    async end() {
      const last = sample();
      const before = await first;
      const spent = Object.fromEntries(
        Object.entries(last.groups).map(([name, ms]) => [name, Math.max(0, ms - (before.groups[name] ?? 0))]),
      );
      const { [GENERATOR]: generatorMs = 0, ...cpuMs } = spent;
      const ours = Object.values(spent).reduce((sum, ms) => sum + ms, 0);
      const wallMs = Math.max(1, last.at - before.at);
      return {
        cpuMs,
        generatorCpuPercent: (generatorMs / wallMs) * 100,
        otherCpuPercent: (Math.max(0, last.busy - before.busy - ours) / wallMs) * 100,
      };
    },
  };
}
