------------------------- MODULE TwoPhaseExecution -------------------------
(***************************************************************************)
(* Two-phase execution as the Day 2 lesson runs it: one replicated         *)
(* counter; a client sends an increment to any node, which coordinates it. *)
(* Phase one: the coordinator asks every node to accept the operation;     *)
(* a node stores it as prepared (not applied) and says so. Participants    *)
(* never refuse. Phase two: once a majority accepted, the coordinator      *)
(* decides commit and tells every node, and each node applies the          *)
(* increment. A coordinator that waits too long gives up and tells every   *)
(* node to abort (the client is told it failed).                           *)
(*                                                                         *)
(* The decision lives only at the coordinator, in memory, so a crash is    *)
(* modelled as a stop: a restarted coordinator that forgot its operation   *)
(* is of no more use to its participants than a stopped one.               *)
(*                                                                         *)
(* What is claimed:                                                        *)
(*  - Atomicity: no node commits an operation that another node aborted;   *)
(*    a node commits or aborts only what the coordinator decided; a commit *)
(*    had a majority of accepts.                                           *)
(*  - Progress unless the coordinator crashes before deciding: every live  *)
(*    node eventually commits or aborts, under weak fairness of every step *)
(*    but crashes and timeouts (NoBlockingUnlessCoordinatorCrashes).       *)
(* What is not: termination. When the coordinator crashes after nodes      *)
(* prepared, they hold the operation and can decide nothing alone; that is *)
(* the blocking problem. BrokenTwoPhaseBlocking shows the unconditional    *)
(* claim failing; BrokenTwoPhaseAbortAlone shows a participant that        *)
(* decides alone breaking atomicity. Run without TLC's deadlock check      *)
(* (its .cfg says so): once every coordinator has stopped, nothing more    *)
(* can happen, which is the end of a run, not a bug.                       *)
(*                                                                         *)
(* Messages are a set: sending adds to it, and a message may be delivered  *)
(* any number of times, late or never; a delayed or lost message is a      *)
(* message nobody has received yet.                                        *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS Nodes,          \* every node holds a replica of the counter
          Coordinators    \* the nodes that receive a client increment (one each)

ASSUME Coordinators \subseteq Nodes

(* An operation is named by the node that coordinates it. *)
Operations == Coordinators

VARIABLES coordinator,  \* coordinator[op]: "idle", "accepting", "committed" or "aborted"
          participant,  \* participant[n][op]: "none", "prepared", "committed" or "aborted"
          counter,      \* counter[n]: n's replica of the counter (each increment adds 1)
          msgs,         \* every message sent so far
          down          \* the coordinators that crashed (and stay down)

vars == <<coordinator, participant, counter, msgs, down>>

Majority(S) == 2 * Cardinality(S) > Cardinality(Nodes)

Messages ==
    [type : {"accept", "commit", "abort"}, op : Operations]
        \cup [type : {"accepted"}, op : Operations, from : Nodes]

Decided == {"committed", "aborted"}

TypeOK ==
    /\ coordinator \in [Operations -> {"idle", "accepting"} \cup Decided]
    /\ participant \in [Nodes -> [Operations -> {"none", "prepared"} \cup Decided]]
    /\ counter \in [Nodes -> 0..Cardinality(Operations)]
    /\ msgs \subseteq Messages
    /\ down \subseteq Coordinators

Init ==
    /\ coordinator = [op \in Operations |-> "idle"]
    /\ participant = [n \in Nodes |-> [op \in Operations |-> "none"]]
    /\ counter = [n \in Nodes |-> 0]
    /\ msgs = {}
    /\ down = {}

(* A client's increment reaches coordinator c: phase one starts. *)
ClientRequest(c) ==
    /\ c \notin down
    /\ coordinator[c] = "idle"
    /\ coordinator' = [coordinator EXCEPT ![c] = "accepting"]
    /\ msgs' = msgs \cup {[type |-> "accept", op |-> c]}
    /\ UNCHANGED <<participant, counter, down>>

(* Node n stores the operation as prepared and says so; it never refuses.  *)
(* An accept arriving after n already learnt the outcome is ignored.       *)
Accept(n, op) ==
    /\ n \notin down
    /\ [type |-> "accept", op |-> op] \in msgs
    /\ participant[n][op] = "none"
    /\ participant' = [participant EXCEPT ![n][op] = "prepared"]
    /\ msgs' = msgs \cup {[type |-> "accepted", op |-> op, from |-> n]}
    /\ UNCHANGED <<coordinator, counter, down>>

Accepters(op) == {n \in Nodes : [type |-> "accepted", op |-> op, from |-> n] \in msgs}

(* A majority accepted: the coordinator decides commit and tells everyone. *)
Commit(c) ==
    /\ c \notin down
    /\ coordinator[c] = "accepting"
    /\ Majority(Accepters(c))
    /\ coordinator' = [coordinator EXCEPT ![c] = "committed"]
    /\ msgs' = msgs \cup {[type |-> "commit", op |-> c]}
    /\ UNCHANGED <<participant, counter, down>>

(* The coordinator's timeout fires before it decided: it aborts. *)
Abort(c) ==
    /\ c \notin down
    /\ coordinator[c] = "accepting"
    /\ coordinator' = [coordinator EXCEPT ![c] = "aborted"]
    /\ msgs' = msgs \cup {[type |-> "abort", op |-> c]}
    /\ UNCHANGED <<participant, counter, down>>

(* A node applies a committed increment, prepared or not (it may have been *)
(* outside the majority, its accept still on the way).                     *)
LearnCommit(n, op) ==
    /\ n \notin down
    /\ [type |-> "commit", op |-> op] \in msgs
    /\ participant[n][op] \in {"none", "prepared"}
    /\ participant' = [participant EXCEPT ![n][op] = "committed"]
    /\ counter' = [counter EXCEPT ![n] = @ + 1]
    /\ UNCHANGED <<coordinator, msgs, down>>

LearnAbort(n, op) ==
    /\ n \notin down
    /\ [type |-> "abort", op |-> op] \in msgs
    /\ participant[n][op] \in {"none", "prepared"}
    /\ participant' = [participant EXCEPT ![n][op] = "aborted"]
    /\ UNCHANGED <<coordinator, counter, msgs, down>>

Crash(c) ==
    /\ c \notin down
    /\ down' = down \cup {c}
    /\ UNCHANGED <<coordinator, participant, counter, msgs>>

(* Every step of the protocol, crashes and timeouts aside. *)
ProtocolStep ==
    \/ \E c \in Coordinators : ClientRequest(c) \/ Commit(c)
    \/ \E n \in Nodes, op \in Operations :
           Accept(n, op) \/ LearnCommit(n, op) \/ LearnAbort(n, op)

Next ==
    \/ ProtocolStep
    \/ \E c \in Coordinators : Abort(c) \/ Crash(c)

(* Weak fairness of the protocol as a whole: while some step of it is      *)
(* possible, one is taken. Every step moves an operation forward, so this  *)
(* is enough for every possible step to happen eventually.                 *)
Fairness == WF_vars(ProtocolStep)

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
(* Safety *)

Atomicity ==
    \A op \in Operations :
        ~ \E p, q \in Nodes :
            participant[p][op] = "committed" /\ participant[q][op] = "aborted"

(* Nodes only carry out the coordinator's decision, and a commit had a majority. *)
OutcomeIsTheCoordinators ==
    \A n \in Nodes, op \in Operations :
        participant[n][op] \in Decided => participant[n][op] = coordinator[op]

CommitHadMajority ==
    \A op \in Operations : coordinator[op] = "committed" => Majority(Accepters(op))

(* Each replica of the counter is the number of increments it committed. *)
CounterCountsCommits ==
    \A n \in Nodes :
        counter[n] = Cardinality({op \in Operations : participant[n][op] = "committed"})

-----------------------------------------------------------------------------
(* Liveness *)

EveryLiveNodeDecided(op) == \A n \in Nodes \ down : participant[n][op] \in Decided

NoBlockingUnlessCoordinatorCrashes ==
    \A op \in Operations :
        coordinator[op] = "accepting"
            ~> (EveryLiveNodeDecided(op) \/ (op \in down /\ coordinator[op] = "accepting"))
=============================================================================
