# The Shoal wire: what a gateway and its workers say to each other.
#
# A worker dials the gateway and bootstraps its Gateway capability, asks it for
# the workers channel and sends an Offer carrying its own Worker capability.
# The gateway then calls Worker.run over the same connection for every run it
# places there; the worker fetches modules it does not hold from the
# ModuleSource passed with the run, and streams output into the LogSink.
# Before it gets the channel, a worker proves it holds the gateway's join
# token (Gateway.challenge, then the proof in Gateway.workers).
@0xf1bd399bfe4c1c7d;

using Go = import "/go.capnp";
$Go.package("wire");
$Go.import("github.com/shoalmesh/shoal/capnp");

interface Gateway {
  # The bootstrap capability a gateway exports to its peers.
  workers @0 (proof :Data) -> (chan :Chan, term :UInt64);
  # A send-only channel: peers can offer workers, nothing else. Only a peer
  # that proves it belongs gets it: proof is the HMAC-SHA256 of the nonce of
  # this connection's last challenge and both peer IDs, keyed by the
  # gateway's join secret (pkg/internal/join). A gateway on a private
  # network (swarm key) takes an empty proof; any other refuses it.
  # term is the Raft term of a replicated group's leader (docs/HA.md), 0
  # for a gateway alone: a worker never attaches to a gateway of a term
  # lower than one it has served (a deposed leader is fenced off).
  ping @1 () -> ();
  # Workers ping the gateway: over QUIC a dead peer sends no close, so
  # silence is the only sign.
  challenge @2 () -> (nonce :Data);
  # A fresh nonce for the next workers call on this connection; each nonce
  # answers one call.
  processes @3 () -> (procs :Processes);
  # What the processes of the worker on this connection ask of the
  # gateway (docs/PROCESSES.md); only after workers admitted the peer.
}

interface Processes {
  # What the processes a worker runs ask of the gateway (docs/PROCESSES.md).
  # Each worker connection gets its own with the channel, and it acts only
  # for processes running on that connection. A process is named by its
  # key; code is 0 or one of the host module's errors (-1..-7), with reason.
  spawn @0 (parent :Text, request :Data) -> (child :Text, code :Int32, reason :Text);
  # request is the guest's spawn record as it wrote it. Returns once the
  # child is accepted (queued); it starts when the gateway places it.
  send @1 (from :Text, to :Text, data :Data) -> (code :Int32, reason :Text, at :PeerAt);
  # Returns once the receiver's mailbox has taken data: a full mailbox
  # holds the call (backpressure). at is where to runs when that is
  # another worker: the sender may deliver there itself from now on
  # (Mesh), and comes back here when it cannot.
  close @2 (from :Text, to :Text) -> (code :Int32, reason :Text);
}

interface Chan {
  send @0 (offer :Offer) -> ();
  # Returns once the gateway has taken the offer into its pool. A worker sends
  # again whenever its free resources or cached modules change.
}

struct Offer {
  worker @0 :Worker;
  free @1 :Resources;
  labels @2 :List(Text);
  cached @3 :List(Data);
  # sha256 of the modules the worker holds compiled.
  version @4 :Text;
  held @5 :List(HeldRun);
  # Runs this worker went on with after its connection to a gateway was
  # lost (docs/HA.md): the gateway adopts each it still wants done
  # (Worker.adopt), so that a failover runs nothing twice.
}

struct HeldRun {
  taskId @0 :Text;
  run @1 :UInt32;
  attempt @2 :UInt32;
}

struct Resources {
  slots @0 :UInt32;
  # Runs the worker executes at once.
  memory @1 :UInt64;
  # Bytes of linear memory the worker grants all its runs together.
  millicores @2 :UInt32;
}

struct PeerAt {
  # A worker, as another node dials it.
  id @0 :Text;
  # Its libp2p peer ID.
  addrs @1 :List(Text);
  # Its multiaddrs.
}

interface Mesh {
  # The bootstrap capability a worker exports to the other workers of its
  # cluster, for messages between their processes (docs/PROCESSES.md).
  challenge @0 () -> (nonce :Data);
  # A fresh nonce for the next mailboxes call on this connection.
  mailboxes @1 (proof :Data) -> (boxes :Mailboxes);
  # proof is join.Proof of the nonce by the cluster's join secret, with
  # this worker as the first peer and the caller as the second; a worker
  # on a private network (swarm key) takes an empty proof.
}

interface Mailboxes {
  # The mailboxes of the processes running on one worker, for another.
  deliver @0 (from :Text, to :Text, data :Data) -> (code :Int32, reason :Text);
  # As Worker.deliver, except that a process that is not running here
  # answers at once (code -1, ERR_INVALID): the sender asks the gateway.
  closed @1 (from :Text, to :Text) -> (code :Int32, reason :Text);
}

interface Worker {
  run @0 (spec :RunSpec, modules :ModuleSource, logs :LogSink, files :JobEvents) -> (result :RunResult);
  ping @1 () -> ();
  runs @2 (specs :List(RunSpec), modules :ModuleSource, logs :LogSink) -> (results :List(RunResult));
  # Several runs in one call, for short runs: results[i] is the outcome of
  # specs[i], all answered together when the last one ends. The worker
  # executes them through its slots like as many run calls, in order; those
  # beyond its free slots wait for one (RunResult.waitNs). A gateway sends
  # only runs it expects to be short this way, so that no result waits long
  # for the others and one call and one answer carry many runs.
  deliver @3 (from :Text, to :Text, data :Data) -> (code :Int32, reason :Text);
  # A message for process to, running here, from its parent or child:
  # returns once to's mailbox from that peer has taken it.
  closed @4 (from :Text, to :Text) -> ();
  # from has closed its side of its channel to to.
  ended @5 (child :Text, parent :Text, code :Int32, error :Text) -> ();
  # A child of parent (running here) has ended: it exited with code when
  # error is empty, else it failed for that reason.

  warm @7 (modules :ModuleSource, sha256s :List(Data)) -> (compiled :UInt32);
  # Fetches and compiles these modules ahead of their runs, so that a
  # cluster's standby worker runs its application's first run with no
  # compile (docs/CLUSTERS.md). It answers how many it holds compiled.

  adopt @8 (taskId :Text, run :UInt32, attempt :UInt32, keep :Bool) -> (result :RunResult);
  # A run this worker holds (Offer.held): with keep, the answer is its
  # result when it ends (at once if it has; its output since the lost
  # connection is in the result only, not in the task's log); without,
  # the worker stops it and forgets it. A run it does not hold fails the
  # call.

  job @6 (spec :JobSpec, modules :ModuleSource, logs :LogSink, events :JobEvents) -> (result :JobResult);
  # Runs one attempt of a job: its steps in the order of their needs, all
  # with one fresh directory mounted at /shared (docs/JOBS.md). Each step's
  # start and end go to events as they happen, and the files left in the
  # directory at the end go to events.file before the answer; the
  # directory is removed then. The job takes one slot for its whole time.
}

struct JobSpec {
  taskId @0 :Text;
  run @1 :UInt32;
  attempt @2 :UInt32;
  timeoutMs @3 :UInt64;
  # The whole job's time limit; each step has its own in its spec.
  reserve @4 :UInt64;
  # Bytes of memory the job was placed with: steps run side by side only
  # while their memory limits fit in it (0: not accounted).
  steps @5 :List(StepSpec);
  maxFiles @6 :UInt64;
  # Bytes of artifacts sent back at most; files past it are left out.
}

struct StepSpec {
  id @0 :Text;
  spec @1 :RunSpec;
  needs @2 :List(UInt32);
  # Indexes of the steps it needs, in the job's list.
  continueOnError @3 :Bool;
}

interface JobEvents {
  step @0 (index :UInt32, status :Text, result :RunResult) -> ();
  # Step index is now status: "running" (no result), or a final status
  # with its result ("skipped" and "canceled" steps never ran).
  file @1 (path :Text, size :UInt64, offset :UInt64, data :Data) -> ();
  # A piece of an artifact: data at offset of the file at path (relative
  # to /shared, with '/'), whose whole size is size. Pieces come in order.
}

struct JobResult {
  status @0 :Text;
  # succeeded, failed or canceled.
  failedStep @1 :Int32;
  # The index of the step that failed the job; -1 when none did.
  error @2 :Text;
  files @3 :UInt32;
  # The artifacts sent; filesLeft those left out (past maxFiles, or not
  # regular files), with why in error when the job otherwise succeeded.
  filesLeft @4 :UInt32;
}

interface ModuleSource {
  get @0 (sha256 :Data) -> (wasm :Data);
  # Each worker connection has its own source, which serves only the modules
  # of runs the gateway has given that connection and not yet seen answered.
}

interface LogSink {
  write @0 (stream :Stream, data :Data, taskId :Text, run :UInt32, attempt :UInt32, step :Text) -> ();
  # A gateway gives each worker connection one sink, passed with every run:
  # each write names its run attempt, and the gateway takes writes only for
  # attempts it gave that worker. (One sink per connection instead of one
  # per run saves a capability export and release per run.)
}

enum Stream {
  stdout @0;
  stderr @1;
}

struct RunSpec {
  taskId @0 :Text;
  run @1 :UInt32;
  # Index of this run among the task's repeats.
  attempt @2 :UInt32;
  # Fencing number: a result is counted only for the current attempt.
  module @3 :Data;
  # sha256 of the wasm module.
  hasInput @4 :Bool;
  input @5 :Int64;
  hasDifficulty @6 :Bool;
  difficulty @7 :Int64;
  args @8 :List(Text);
  env @9 :List(Text);
  stdin @10 :Data;
  timeoutMs @11 :UInt64;
  memory @12 :UInt64;
  # Memory limit in bytes; 0 means the worker's default.
  maxOutput @13 :UInt64;
  dirs @14 :List(Text);
  # Names of the worker's directories the run uses, each mounted at /NAME.
  # A worker that does not offer one fails the run.
  fuel @15 :UInt64;
  # The most fuel the run may use (instructions counted statically per call
  # and loop iteration); 0 is no limit.
  proc @16 :Text;
  # The run's process key when it is a spawned process (a child); empty
  # for a task's run, whose key is its RunRef. A child takes no slot: its
  # cores and memory were reserved by the gateway.
  parent @17 :Text;
  # The key of a child's parent.
  maxFiles @18 :UInt64;
  # Not 0: the run has a fresh /shared whose files, up to maxFiles bytes,
  # go to the run call's files before its answer (a task's shared).
  inputs @19 :List(Input);
  # The files of the run's working directory: the worker fetches each by
  # its sha256 (modules.get) and writes it at its path (a task's bundle).
}

struct Input {
  path @0 :Text;
  sha256 @1 :Data;
  size @2 :UInt64;
}

struct RunResult {
  ok @0 :Bool;
  exitCode @1 :Int32;
  result @2 :Text;
  error @3 :Text;
  truncated @4 :Bool;
  fetchNs @5 :Int64;
  compileNs @6 :Int64;
  instantiateNs @7 :Int64;
  runNs @8 :Int64;
  waitNs @9 :Int64;
  # Time the run waited on the worker for a free slot.
  fuel @10 :UInt64;
  # The fuel the run used.
}
