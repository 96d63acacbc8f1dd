------------------------------- MODULE Paxos -------------------------------
(***************************************************************************)
(* Single-decree Paxos (Lamport, "Paxos Made Simple", 2001) with acceptors *)
(* that crash and recover from storage, as the Day 2 lesson builds it.     *)
(*                                                                         *)
(* A proposer owns a ballot. Phase 1: it asks every acceptor to promise    *)
(* the ballot; an acceptor promises if the ballot is higher than any it    *)
(* promised, and reports what it accepted so far. Phase 2: with promises   *)
(* from a majority, the proposer proposes the value accepted in the        *)
(* highest ballot among them, or its own value if none accepted anything;  *)
(* an acceptor accepts unless it promised a higher ballot. A value is      *)
(* chosen once a majority accepted it in one ballot.                       *)
(*                                                                         *)
(* Acceptors follow the durable-decision pattern (DurableDecision.tla):    *)
(* they update memory at once, and their answer waits in an outbox until   *)
(* storage holds the new state. A crash rebuilds memory from storage and   *)
(* loses the outbox. BrokenPaxosReplyBeforePersist answers at once;        *)
(* BrokenPaxosIgnoreAccepted lets the proposer ignore reported values.     *)
(*                                                                         *)
(* Claimed: Agreement (at most one value is chosen). Termination is not    *)
(* claimed (duelling proposers may never finish, FLP); an acceptor can     *)
(* always crash, so no state is final and the deadlock check passes        *)
(* trivially.                                                              *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets, TLC

CONSTANTS Acceptors,  \* three, for majorities of two
          Values,     \* the values proposers may propose
          Ballots,    \* positive ballot numbers, one proposer each; 0 means "none yet"
          NoValue     \* what an acceptor that accepted nothing reports

ASSUME NoValue \notin Values /\ Ballots \subseteq Nat \ {0}

Quorums == {Q \in SUBSET Acceptors : 2 * Cardinality(Q) > Cardinality(Acceptors)}

(* What an acceptor holds, in memory and on disk. *)
AcceptorState ==
    [promised : {0} \cup Ballots, acceptedBallot : {0} \cup Ballots, acceptedValue : {NoValue} \cup Values]

EmptyState == [promised |-> 0, acceptedBallot |-> 0, acceptedValue |-> NoValue]

Messages ==
         [type : {"prepare"}, ballot : Ballots]
    \cup [type : {"promise"}, from : Acceptors, ballot : Ballots,
          acceptedBallot : {0} \cup Ballots, acceptedValue : {NoValue} \cup Values]
    \cup [type : {"propose"}, ballot : Ballots, value : Values]
    \cup [type : {"accepted"}, from : Acceptors, ballot : Ballots, value : Values]

VARIABLES memory,   \* memory[a]: a's state as it decides with it
          disk,     \* disk[a]: a's state as storage holds it
          outbox,   \* outbox[a]: answers waiting for a's write to be durable
          msgs      \* every message sent so far

vars == <<memory, disk, outbox, msgs>>

TypeOK ==
    /\ memory \in [Acceptors -> AcceptorState]
    /\ disk \in [Acceptors -> AcceptorState]
    /\ outbox \in [Acceptors -> SUBSET Messages]
    /\ msgs \subseteq Messages

Init ==
    /\ memory = [a \in Acceptors |-> EmptyState]
    /\ disk = [a \in Acceptors |-> EmptyState]
    /\ outbox = [a \in Acceptors |-> {}]
    /\ msgs = {}

(* How an acceptor answers: after its state is durable. The broken spec    *)
(* replaces this with an answer sent at once.                              *)
Answer(a, m) ==
    /\ outbox' = [outbox EXCEPT ![a] = @ \cup {m}]
    /\ UNCHANGED msgs

-----------------------------------------------------------------------------
(* Proposers *)

Prepare(b) ==
    /\ [type |-> "prepare", ballot |-> b] \notin msgs
    /\ msgs' = msgs \cup {[type |-> "prepare", ballot |-> b]}
    /\ UNCHANGED <<memory, disk, outbox>>

PromisesFrom(Q, b) ==
    {m \in msgs : m.type = "promise" /\ m.ballot = b /\ m.from \in Q}

(* The rule that makes Paxos safe: among the promises, the value accepted  *)
(* in the highest ballot must be proposed; any value is free only when no  *)
(* acceptor of the quorum accepted anything.                               *)
MayPropose(Q, b, v) ==
    LET promises == PromisesFrom(Q, b)
        withValue == {m \in promises : m.acceptedBallot # 0}
    IN  /\ \A a \in Q : \E m \in promises : m.from = a
        /\ \/ withValue = {}
           \/ \E m \in withValue :
                  /\ m.acceptedValue = v
                  /\ \A o \in withValue : o.acceptedBallot <= m.acceptedBallot

Propose(b, v) ==
    /\ ~ \E m \in msgs : m.type = "propose" /\ m.ballot = b
    /\ \E Q \in Quorums : MayPropose(Q, b, v)
    /\ msgs' = msgs \cup {[type |-> "propose", ballot |-> b, value |-> v]}
    /\ UNCHANGED <<memory, disk, outbox>>

-----------------------------------------------------------------------------
(* Acceptors *)

Promise(a, b) ==
    /\ [type |-> "prepare", ballot |-> b] \in msgs
    /\ b > memory[a].promised
    /\ memory' = [memory EXCEPT ![a].promised = b]
    /\ Answer(a, [type |-> "promise", from |-> a, ballot |-> b,
                  acceptedBallot |-> memory[a].acceptedBallot,
                  acceptedValue |-> memory[a].acceptedValue])
    /\ UNCHANGED disk

Accept(a, b, v) ==
    /\ [type |-> "propose", ballot |-> b, value |-> v] \in msgs
    /\ b >= memory[a].promised
    /\ memory[a].acceptedBallot # b
    /\ memory' = [memory EXCEPT ![a] = [promised |-> b, acceptedBallot |-> b, acceptedValue |-> v]]
    /\ Answer(a, [type |-> "accepted", from |-> a, ballot |-> b, value |-> v])
    /\ UNCHANGED disk

(* a's write completes: storage holds its memory, and the answers go out. *)
Persist(a) ==
    /\ memory[a] # disk[a]
    /\ disk' = [disk EXCEPT ![a] = memory[a]]
    /\ msgs' = msgs \cup outbox[a]
    /\ outbox' = [outbox EXCEPT ![a] = {}]
    /\ UNCHANGED memory

(* a crashes and restarts from storage: an unfinished write, and the       *)
(* answers waiting for it, are lost.                                       *)
CrashAndRecover(a) ==
    /\ memory' = [memory EXCEPT ![a] = disk[a]]
    /\ outbox' = [outbox EXCEPT ![a] = {}]
    /\ UNCHANGED <<disk, msgs>>

Next ==
    \/ \E b \in Ballots : Prepare(b)
    \/ \E b \in Ballots, v \in Values : Propose(b, v)
    \/ \E a \in Acceptors :
           \/ \E b \in Ballots : Promise(a, b)
           \/ \E b \in Ballots, v \in Values : Accept(a, b, v)
           \/ Persist(a)
           \/ CrashAndRecover(a)

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------

ChosenIn(b, v) ==
    \E Q \in Quorums : \A a \in Q :
        [type |-> "accepted", from |-> a, ballot |-> b, value |-> v] \in msgs

Chosen == {v \in Values : \E b \in Ballots : ChosenIn(b, v)}

Agreement == Cardinality(Chosen) <= 1

(* Acceptors are interchangeable, and so are values: TLC checks one state  *)
(* of each class of states that differ only by renaming them.              *)
Symmetry == Permutations(Acceptors) \cup Permutations(Values)

(* The durable-decision rule, as in DurableDecision: every answer an       *)
(* acceptor sent is backed by its storage.                                 *)
AnswersAreDurable ==
    \A m \in msgs :
        /\ m.type = "promise" => disk[m.from].promised >= m.ballot
        /\ m.type = "accepted" => disk[m.from].acceptedBallot >= m.ballot
=============================================================================
