// Reads lodsim's outputs with independent readers and checks them against
// lodsim's own summaries; exits 1 listing every disagreement.
//   node interop.mjs COMPARE_DIR TRACE.parquet TRACE.arrow TRACE_STATS.txt [SWEEP_DIR]
// DuckDB reads results.parquet, the converted Parquet trace and
// compare.csv, and sweep.parquet and sweep.csv of a sweep over the same
// configurations as the comparison (checked against its medium runs);
// Apache Arrow JS reads the Arrow IPC trace (DuckDB's core has
// no Arrow IPC reader; its nanoarrow extension is a download of its own).
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [cmpDir, traceParquet, traceArrow, traceStats, sweepDir] = process.argv.slice(2);
if (!traceStats) {
  console.error('usage: node interop.mjs COMPARE_DIR TRACE.parquet TRACE.arrow TRACE_STATS.txt');
  process.exit(2);
}
const failures = [];
let checks = 0;
const num = (v) => (typeof v === 'bigint' ? Number(v) : v);
function eq(what, found, want, tol = 0) {
  checks++;
  found = num(found); want = num(want);
  const ok = tol === 0 ? found === want : Math.abs(found - want) <= tol * Math.max(1, Math.abs(want));
  if (!ok) failures.push(`${what}: found ${found}, lodsim says ${want}${tol ? ` (tolerance ${tol})` : ''}`);
  return ok;
}
const sql = (s) => `'${s.replaceAll("'", "''")}'`;

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (q) => (await con.runAndReadAll(q)).getRowObjects();

// 1. The sweep table, and each run's results against its summary.json.
const table = await rows(`select * from read_csv_auto(${sql(join(cmpDir, 'compare.csv'))})`);
const sweep = JSON.parse(readFileSync(join(cmpDir, 'compare.json'), 'utf8'));
eq('compare.csv rows', table.length, sweep.comparisons.length);
for (const row of table) {
  for (const [side, lod] of [['ref', row.ref_lod], ['other', row.lod]]) {
    const dir = join(cmpDir, `${row.label}-${lod}`);
    const sum = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    const tag = `${row.label}-${lod}`;
    eq(`${tag}: compare.csv ${side === 'ref' ? 'ref_events' : 'events'}`, side === 'ref' ? row.ref_events : row.events, sum.total_events);
    eq(`${tag}: compare.csv ${side}_ttft_mean_ms`, row[`${side}_ttft_mean_ms`], sum.ttft_ms.mean, 1e-9);
    eq(`${tag}: compare.csv ${side}_completed`, row[`${side}_completed`], sum.completed);

    const f = sql(join(dir, 'results.parquet'));
    const [r] = await rows(`select count(*) n,
        count(*) filter (where status = 'completed') c,
        count(*) filter (where status = 'rejected') rej,
        avg(ttft_ns) filter (where status = 'completed') ttft,
        avg(tpot_ns) filter (where status = 'completed') tpot,
        avg(e2e_ns) filter (where status = 'completed') e2e,
        max(e2e_ns) filter (where status = 'completed') e2e_max,
        avg(queue_ns) filter (where status = 'completed') queue,
        count(*) filter (where ttft_ns is distinct from (case when first_token_ns >= 0 then first_token_ns - arrival_ns end)) bad_ttft,
        count(*) filter (where e2e_ns is distinct from (case when completion_ns >= 0 then completion_ns - arrival_ns end)) bad_e2e
      from read_parquet(${f})`);
    eq(`${tag}: results.parquet rows`, r.n, sum.requests);
    eq(`${tag}: completed rows`, r.c, sum.completed);
    eq(`${tag}: rejected rows`, r.rej, sum.rejected);
    eq(`${tag}: mean ttft_ns / 1e6`, r.ttft / 1e6, sum.ttft_ms.mean, 1e-9);
    eq(`${tag}: mean e2e_ns / 1e6`, r.e2e / 1e6, sum.e2e_ms.mean, 1e-9);
    eq(`${tag}: max e2e_ns / 1e6`, num(r.e2e_max) / 1e6, sum.e2e_ms.max, 1e-12);
    eq(`${tag}: mean queue_ns / 1e6`, r.queue / 1e6, sum.queueing_ms.mean, 1e-9);
    // tpot_ns is rounded to the nanosecond: the mean may move by 0.5 ns.
    eq(`${tag}: mean tpot_ns / 1e6`, r.tpot / 1e6, sum.tpot_ms.mean, 1e-6);
    eq(`${tag}: rows whose ttft_ns is not first_token_ns - arrival_ns`, r.bad_ttft, 0);
    eq(`${tag}: rows whose e2e_ns is not completion_ns - arrival_ns`, r.bad_e2e, 0);
    const [o] = await rows(`select count(*) filter (where prev >= id) unsorted from (
        select id, lag(id) over (order by file_row_number) prev from read_parquet(${f}, file_row_number = true))`);
    eq(`${tag}: rows not in ascending id order`, o.unsorted, 0);
    const types = Object.fromEntries((await rows(`describe select * from read_parquet(${f})`)).map((c) => [c.column_name, c.column_type]));
    for (const c of ['ttft_ns', 'tpot_ns', 'e2e_ns', 'queue_ns']) eq(`${tag}: type of ${c}`, types[c], 'BIGINT');
    const kv = Object.fromEntries((await rows(`select decode(key) k, decode(value) v from parquet_kv_metadata(${f})`)).map((x) => [x.k, x.v]));
    eq(`${tag}: metadata lodsim.schema`, kv['lodsim.schema'], 'lodsim.results/2');
    const [meta] = await rows(`select created_by from parquet_file_metadata(${f})`);
    checks++;
    if (!/^lodsim version \S+/.test(meta.created_by)) failures.push(`${tag}: created_by ${JSON.stringify(meta.created_by)}, expected "lodsim version ..."`);
  }
}

// 2. The converted trace, against lodsim trace stats of the source.
const stats = readFileSync(traceStats, 'utf8');
const line = (name) => {
  const m = stats.match(new RegExp(`^${name}\\s+(.*)$`, 'm'));
  if (!m) { failures.push(`trace stats: no "${name}" line`); return []; }
  return m[1].trim().split(/\s+/).map(Number);
};
const [nRows] = line('rows');
const prompt = line('prompt tokens'); // mean p50 p90 p99 min max sum zero
const output = line('output tokens');
const [p] = await rows(`select count(*) n, sum(prompt_tokens) ps, max(prompt_tokens) pm, sum(output_tokens) os,
    max(output_tokens) om, min(arrival_ns) a0 from read_parquet(${sql(traceParquet)})`);
eq('trace.parquet rows', p.n, nRows);
eq('trace.parquet sum(prompt_tokens)', p.ps, prompt[6]);
eq('trace.parquet max(prompt_tokens)', p.pm, prompt[5]);
eq('trace.parquet sum(output_tokens)', p.os, output[6]);
eq('trace.parquet max(output_tokens)', p.om, output[5]);
eq('trace.parquet first arrival_ns', p.a0, 0);

const arrow = tableFromIPC(readFileSync(traceArrow));
eq('trace.arrow rows', arrow.numRows, nRows);
const col = (name) => { const c = arrow.getChild(name); if (!c) failures.push(`trace.arrow: no column ${name}`); return c ? [...c].map(num) : []; };
const sumOf = (v) => v.reduce((a, b) => a + b, 0);
eq('trace.arrow sum(prompt_tokens)', sumOf(col('prompt_tokens')), prompt[6]);
eq('trace.arrow sum(output_tokens)', sumOf(col('output_tokens')), output[6]);
// Both conversions hold the same arrivals, row by row.
const pa = (await rows(`select arrival_ns from read_parquet(${sql(traceParquet)}, file_row_number = true) order by file_row_number`)).map((x) => num(x.arrival_ns));
const aa = col('arrival_ns');
eq('rows where trace.arrow and trace.parquet arrivals differ', pa.filter((v, i) => v !== aa[i]).length + Math.abs(pa.length - aa.length), 0);

// 3. The sweep table: sweep.parquet and sweep.csv agree cell by cell, and
// each point equals the comparison's medium run of the same configuration.
if (sweepDir) {
  const pq = await rows(`select * from read_parquet(${sql(join(sweepDir, 'sweep.parquet'))}) order by point`);
  const csv = await rows(`select * from read_csv_auto(${sql(join(sweepDir, 'sweep.csv'))}) order by point`);
  eq('sweep.parquet rows', pq.length, csv.length);
  eq('sweep points vs compare configurations', pq.length, sweep.comparisons.length);
  pq.forEach((r, i) => {
    const c = csv[i] ?? {};
    for (const [k, v] of Object.entries(r)) {
      if (typeof num(v) === 'number') eq(`sweep point ${r.point}: ${k} in sweep.parquet vs sweep.csv`, v, c[k], 1e-12);
      else if (typeof v === 'string') { checks++; if (v !== String(c[k] ?? '')) failures.push(`sweep point ${r.point}: ${k} ${JSON.stringify(v)} in sweep.parquet, ${JSON.stringify(c[k])} in sweep.csv`); }
    }
    const label = sweep.comparisons[i]?.label;
    if (!label) return;
    const sum = JSON.parse(readFileSync(join(cmpDir, `${label}-medium`, 'summary.json'), 'utf8'));
    eq(`sweep point ${r.point} vs ${label}-medium: completed`, r.completed, sum.completed);
    eq(`sweep point ${r.point} vs ${label}-medium: ttft_mean_ms`, r.ttft_mean_ms, sum.ttft_ms.mean, 1e-12);
    eq(`sweep point ${r.point} vs ${label}-medium: tpot_p99_ms`, r.tpot_p99_ms, sum.tpot_ms.p99, 1e-12);
    eq(`sweep point ${r.point} vs ${label}-medium: e2e_p50_ms`, r.e2e_p50_ms, sum.e2e_ms.p50, 1e-12);
  });
}

if (failures.length) {
  console.error(`interop: ${failures.length} of ${checks} checks FAILED:`);
  for (const f of failures) console.error('  ' + f);
  process.exit(1);
}
console.log(`interop: ${checks} checks passed (DuckDB ${(await rows('select version() v'))[0].v}, Arrow JS, ${table.length} configurations${sweepDir ? ', a sweep' : ''})`);
