/**
 * What one measurement of `npm run bench` is: a load for a duration (autocannon for HTTP, a driver process
 * for the other baselines), the answers counted, the latencies' p50 and p99, and the CPU time each process
 * of interest spent meanwhile (utime + stime from /proc/<pid>/stat, read before and after), per operation.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon, { type AutocannonInstance, type AutocannonRequest, type AutocannonResult } from 'autocannon';
import type pg from 'pg';

/** How a side's load went, before the CPU is divided. */
export interface LoadResult {
  /** definitive successes (HTTP 200, or an operation that completed) within the duration */
  ok: number;
  /** everything else: other statuses, connection errors, timeouts, failed operations */
  errors: number;
  durationS: number;
  /** milliseconds */
  p50: number;
  p99: number;
  /** HTTP status counts, for the report of errors */
  statuses: Record<string, number>;
  firstError?: string;
}

export interface Sample extends LoadResult {
  /** ok per second */
  rate: number;
  /** milliseconds of CPU per ok operation, per process */
  cpuMsPerOp: Record<string, number>;
}

/** A process (or group) whose CPU time is read before and after a measurement. */
export interface CpuProbe {
  name: string;
  /** CPU milliseconds so far, per pid (a group's pids may come and go) */
  read: () => Promise<Map<number, number>>;
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process in milliseconds, or undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count the fields after it
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** A process's resident memory now (VmRSS) and at its peak so far (VmHWM), in MiB; undefined when it is gone. */
export function processMemoryMib(pid: number | undefined): { rss: number; peak: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

export function pidProbe(name: string, pid: () => number | undefined): CpuProbe {
  return {
    name,
    read: async () => {
      const id = pid();
      const ms = id === undefined ? undefined : processCpuMs(id);
      return new Map(id === undefined || ms === undefined ? [] : [[id, ms]]);
    },
  };
}

/** This process: autocannon, the load generator of the HTTP measurements. */
export function selfProbe(name: string): CpuProbe {
  return {
    name,
    read: async () => {
      const usage = process.cpuUsage();
      return new Map([[process.pid, (usage.user + usage.system) / 1000]]);
    },
  };
}

/** The PostgreSQL backends connected to one database (pg_stat_activity), each read from /proc. */
export function postgresProbe(name: string, admin: pg.Pool, database: string): CpuProbe {
  return {
    name,
    read: async () => {
      const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
      const cpu = new Map<number, number>();
      for (const { pid } of rows) {
        const ms = processCpuMs(pid);
        if (ms !== undefined) cpu.set(pid, ms);
      }
      return cpu;
    },
  };
}

/** Runs `load` between two readings of every probe; a pid new in the second reading counts from zero. */
export async function measure(probes: CpuProbe[], load: () => Promise<LoadResult>): Promise<Sample> {
  const before = await Promise.all(probes.map((probe) => probe.read()));
  const result = await load();
  const after = await Promise.all(probes.map((probe) => probe.read()));
  const cpuMsPerOp: Record<string, number> = {};
  probes.forEach((probe, index) => {
    let spent = 0;
    for (const [pid, ms] of after[index]!) spent += ms - (before[index]!.get(pid) ?? 0);
    cpuMsPerOp[probe.name] = result.ok > 0 ? spent / result.ok : Number.NaN;
  });
  return { ...result, rate: result.ok / result.durationS, cpuMsPerOp };
}

export interface HttpLoad {
  url: string;
  connections: number;
  durationS: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** builds each request (a fresh Idempotency-Key, the next tenant); see AutocannonRequest */
  setupRequest?: AutocannonRequest['setupRequest'];
  onResponse?: AutocannonRequest['onResponse'];
}

const running = new Set<AutocannonInstance>();

/** Stops every autocannon run under way (Ctrl-C); each answers what it measured so far. */
export function stopLoads(): void {
  for (const instance of running) instance.stop();
}

/** autocannon for `durationS` at `connections`; only 200s count as ok. */
export async function httpLoad(load: HttpLoad): Promise<LoadResult> {
  const instance = autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.durationS,
    // a money request may wait for its workflow (WORKFLOW_WAIT_SECONDS); a timeout is an error, not a hang
    timeout: 60,
    method: load.method ?? 'GET',
    headers: load.headers,
    body: load.body,
    // autocannon calls a request's setupRequest unconditionally once the key is there: only defined ones
    requests: [{ ...(load.setupRequest ? { setupRequest: load.setupRequest } : {}), ...(load.onResponse ? { onResponse: load.onResponse } : {}) }],
  });
  running.add(instance);
  let result: AutocannonResult;
  try {
    result = await instance;
  } finally {
    running.delete(instance);
  }
  const statuses: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) statuses[status] = count;
  const ok = statuses['200'] ?? 0;
  const answered = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  return {
    ok,
    errors: answered - ok + result.errors + result.timeouts,
    durationS: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statuses,
  };
}

export function median(values: number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of each figure over the repeats, taken figure by figure. */
export function medianSample(samples: Sample[]): Sample {
  const pick = (get: (sample: Sample) => number) => median(samples.map(get));
  const names = [...new Set(samples.flatMap((sample) => Object.keys(sample.cpuMsPerOp)))];
  const statuses: Record<string, number> = {};
  for (const sample of samples) for (const [status, count] of Object.entries(sample.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  return {
    ok: pick((sample) => sample.ok),
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
    durationS: pick((sample) => sample.durationS),
    p50: pick((sample) => sample.p50),
    p99: pick((sample) => sample.p99),
    rate: pick((sample) => sample.rate),
    statuses,
    firstError: samples.find((sample) => sample.firstError)?.firstError,
    cpuMsPerOp: Object.fromEntries(names.map((name) => [name, pick((sample) => sample.cpuMsPerOp[name] ?? Number.NaN)])),
  };
}
