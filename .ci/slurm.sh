#!/usr/bin/env bash
# A real single-node Slurm cluster runs `lodsim sweep --emit slurm`'s array
# script: 64 points in 8 array tasks. The merged table must be
# byte-identical to the same sweep run locally.
#
# Installs Debian's slurm-wlm and munge when missing, starts munged (unless
# one runs), slurmctld and slurmd on this host with a private config and
# private ports under a temporary directory, and stops what it started. It
# skips only when the Slurm daemons cannot start (and says why); any other
# failure fails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

skip() {
	echo "== slurm: SKIPPED (the Slurm test did not run): $*"
	exit 0
}
say() { echo "== slurm: $*"; }

if [ "$(id -u)" != 0 ]; then
	if sudo -n true 2>/dev/null; then
		exec sudo -n env "PATH=$PATH" "HOME=$HOME" "GOPATH=$(go env GOPATH)" "GOCACHE=$(go env GOCACHE)" "GOMODCACHE=$(go env GOMODCACHE)" bash "$0" "$@"
	fi
	skip "slurmd must run as root, and this user is not root and has no password-less sudo"
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
	say "installing slurm-wlm and munge"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q slurm-wlm munge >/dev/null
fi

work=$(mktemp -d /tmp/lodsim-slurm.XXXXXX)
chmod 755 "$work"
started_munged=""
export SLURM_CONF=$work/etc/slurm.conf

cleanup() {
	set +e
	for d in slurmd slurmctld; do
		if [ -f "$work/run/$d.pid" ]; then
			kill "$(cat "$work/run/$d.pid")" 2>/dev/null
		fi
	done
	if [ -n "$started_munged" ] && [ -f /run/munge/munged.pid ]; then
		kill "$(cat /run/munge/munged.pid)" 2>/dev/null
	fi
	sleep 1
	if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

# munge: a key, and a daemon (reuse one that answers).
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
	if [ ! -s /etc/munge/munge.key ]; then
		mkdir -p /etc/munge
		mungekey --create --keyfile=/etc/munge/munge.key --force
	fi
	chown munge:munge /etc/munge/munge.key
	chmod 400 /etc/munge/munge.key
	mkdir -p /run/munge /var/lib/munge /var/log/munge
	chown munge:munge /run/munge /var/lib/munge /var/log/munge
	chmod 755 /run/munge
	runuser -u munge -- /usr/sbin/munged || skip "munged did not start"
	started_munged=1
	for _ in $(seq 20); do
		munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
		sleep 0.5
	done
	munge -n </dev/null | unmunge >/dev/null 2>&1 || skip "munged started but does not answer"
fi

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work/etc" "$work/run" "$work/spool/ctld" "$work/spool/d" "$work/log"
cat >"$SLURM_CONF" <<EOF
ClusterName=lodsimci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=26817
SlurmdPort=26818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$work/spool/ctld
SlurmdSpoolDir=$work/spool/d
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

say "starting slurmctld and slurmd ($cpus CPUs on $host)"
/usr/sbin/slurmctld -f "$SLURM_CONF" -i || skip "slurmctld did not start: $(tail -5 "$work/log/slurmctld.log" 2>/dev/null)"
/usr/sbin/slurmd -f "$SLURM_CONF" -N "$host" || skip "slurmd did not start: $(tail -5 "$work/log/slurmd.log" 2>/dev/null)"
up=""
for _ in $(seq 60); do
	state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
	case "$state" in idle* | mix* | alloc*) up=1; break ;; esac
	sleep 0.5
done
if [ -z "$up" ]; then
	skip "the node did not come up (state '${state:-none}'): $(tail -5 "$work/log/slurmctld.log" 2>/dev/null; tail -5 "$work/log/slurmd.log" 2>/dev/null)"
fi
say "node $host is ${state}"

say "building lodsim"
go build -o "$work/lodsim" ./cmd/lodsim

# 4 GPUs x 4 TP x 4 replica counts = 64 cheap points: the reference
# workload (40 synthetic requests) at medium LoD.
sweep_args=(-c scenario:reference-tp1 --grid gpu=a100,h100,h200,l40s --grid tp=1,2,4,8 --grid replicas=1,2,4,8
	--slo-ttft 100ms --slo-tpot 20ms)

say "running the sweep locally"
"$work/lodsim" sweep "${sweep_args[@]}" -j "$cpus" --out "$work/local" >/dev/null

say "emitting and submitting the array script"
"$work/lodsim" sweep "${sweep_args[@]}" --emit slurm --shards 8 -j 1 --out "$work/cluster"
job=$(sbatch --parsable "$work/cluster/sweep.sbatch")
say "job $job submitted"
done_=""
for _ in $(seq 600); do
	if [ -z "$(squeue -h -j "$job" 2>/dev/null)" ]; then
		done_=1
		break
	fi
	sleep 0.5
done
[ -n "$done_" ] || { squeue; echo "== slurm: FAILED: job $job still queued or running after 300 s"; exit 1; }

nparts=$(ls "$work/cluster/parts" | grep -c '^part-.*-of-0008\.parquet$' || true)
say "job $job finished; $nparts partitions; task logs:"
for f in "$work/cluster/logs"/*.out; do
	echo "--- $(basename "$f")"
	cat "$f"
done
if [ "$nparts" != 8 ]; then
	echo "== slurm: FAILED: $nparts of 8 partitions written"
	exit 1
fi

"$work/lodsim" sweep merge "$work/cluster"
for f in sweep.parquet sweep.csv; do
	if ! cmp "$work/local/$f" "$work/cluster/$f"; then
		echo "== slurm: FAILED: $f from the Slurm array differs from the local run"
		exit 1
	fi
done
rows=$(($(wc -l <"$work/cluster/sweep.csv") - 1))
say "PASSED: $rows points in 8 Slurm array tasks; merged sweep.parquet and sweep.csv byte-identical to the local run"
