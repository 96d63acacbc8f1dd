-------------------- MODULE BrokenStorageWriteAndValidate --------------------
(***************************************************************************)
(* A second way to get the durable-decision pattern wrong: validate a      *)
(* request against storage instead of memory. Each prepare starts a        *)
(* storage read; when the read returns, the node compares the generation   *)
(* with what storage held and, if it is higher, decides and writes. While  *)
(* reads and writes are in flight storage is stale, so two prepares can    *)
(* both read the old value, both pass, and both be written concurrently:   *)
(* the node promises two generations at once, and whichever write lands    *)
(* last wins, possibly the lower one.                                      *)
(*                                                                         *)
(* The fix is DurableDecision's rule: decide against memory, which is      *)
(* updated at once, and let storage only follow.                           *)
(*                                                                         *)
(* Expected: TLC reports NoConcurrentPromises violated, after 6 steps (two *)
(* prepares, two reads of the same stale value, two decisions).            *)
(* ResponseImpliesDurable breaks too, later: a lower write completing      *)
(* after a higher one rolls storage back under an answer already sent.     *)
(***************************************************************************)
EXTENDS Naturals, FiniteSets

CONSTANTS Nodes, MaxGeneration

VARIABLES memPromised,    \* memPromised[n]: the promise in memory (set by a decision)
          durPromised,    \* durPromised[n]: the promise storage holds
          pendingRead,    \* pendingRead[n]: generations whose storage read is in flight
          pendingDecide,  \* pendingDecide[n]: reads returned, [gen, readValue], awaiting a decision
          pendingWrite,   \* pendingWrite[n]: generations whose write is in flight
          responses,      \* promises sent: [from |-> node, gen |-> generation]
          crashed

vars == <<memPromised, durPromised, pendingRead, pendingDecide, pendingWrite,
          responses, crashed>>

Generations == 0..MaxGeneration

TypeOK ==
    /\ memPromised \in [Nodes -> Generations]
    /\ durPromised \in [Nodes -> Generations]

Init ==
    /\ memPromised = [n \in Nodes |-> 0]
    /\ durPromised = [n \in Nodes |-> 0]
    /\ pendingRead = [n \in Nodes |-> {}]
    /\ pendingDecide = [n \in Nodes |-> {}]
    /\ pendingWrite = [n \in Nodes |-> {}]
    /\ responses = {}
    /\ crashed = [n \in Nodes |-> FALSE]

(* A prepare arrives: nothing is checked yet, a storage read starts. *)
ReceivePrepare(n, g) ==
    /\ ~crashed[n]
    /\ pendingRead' = [pendingRead EXCEPT ![n] = @ \cup {g}]
    /\ UNCHANGED <<memPromised, durPromised, pendingDecide, pendingWrite,
                   responses, crashed>>

(* The read returns whatever storage holds now. *)
CompleteRead(n, g) ==
    /\ ~crashed[n]
    /\ g \in pendingRead[n]
    /\ pendingRead' = [pendingRead EXCEPT ![n] = @ \ {g}]
    /\ pendingDecide' = [pendingDecide EXCEPT ![n] =
                            @ \cup {[gen |-> g, readValue |-> durPromised[n]]}]
    /\ UNCHANGED <<memPromised, durPromised, pendingWrite, responses, crashed>>

(* The bug: the decision is taken against the value read, which may be stale. *)
DecideAndWrite(n, req) ==
    /\ ~crashed[n]
    /\ req \in pendingDecide[n]
    /\ req.gen > req.readValue
    /\ memPromised' = [memPromised EXCEPT ![n] = req.gen]
    /\ pendingWrite' = [pendingWrite EXCEPT ![n] = @ \cup {req.gen}]
    /\ pendingDecide' = [pendingDecide EXCEPT ![n] = @ \ {req}]
    /\ UNCHANGED <<durPromised, pendingRead, responses, crashed>>

RejectPrepare(n, req) ==
    /\ ~crashed[n]
    /\ req \in pendingDecide[n]
    /\ req.gen <= req.readValue
    /\ pendingDecide' = [pendingDecide EXCEPT ![n] = @ \ {req}]
    /\ UNCHANGED <<memPromised, durPromised, pendingRead, pendingWrite,
                   responses, crashed>>

(* A write lands (in any order) and the promise is answered. *)
CompleteWrite(n, g) ==
    /\ ~crashed[n]
    /\ g \in pendingWrite[n]
    /\ durPromised' = [durPromised EXCEPT ![n] = g]
    /\ pendingWrite' = [pendingWrite EXCEPT ![n] = @ \ {g}]
    /\ responses' = responses \cup {[from |-> n, gen |-> g]}
    /\ UNCHANGED <<memPromised, pendingRead, pendingDecide, crashed>>

CrashAndRecover(n) ==
    /\ ~crashed[n]
    /\ crashed' = [crashed EXCEPT ![n] = TRUE]
    /\ memPromised' = [memPromised EXCEPT ![n] = durPromised[n]]
    /\ pendingRead' = [pendingRead EXCEPT ![n] = {}]
    /\ pendingDecide' = [pendingDecide EXCEPT ![n] = {}]
    /\ pendingWrite' = [pendingWrite EXCEPT ![n] = {}]
    /\ UNCHANGED <<durPromised, responses>>

Restart(n) ==
    /\ crashed[n]
    /\ crashed' = [crashed EXCEPT ![n] = FALSE]
    /\ UNCHANGED <<memPromised, durPromised, pendingRead, pendingDecide,
                   pendingWrite, responses>>

Next ==
    \E n \in Nodes :
        \/ \E g \in 1..MaxGeneration : ReceivePrepare(n, g) \/ CompleteRead(n, g)
        \/ \E req \in [gen : 1..MaxGeneration, readValue : Generations] :
               DecideAndWrite(n, req) \/ RejectPrepare(n, req)
        \/ \E g \in 1..MaxGeneration : CompleteWrite(n, g)
        \/ CrashAndRecover(n)
        \/ Restart(n)

Spec == Init /\ [][Next]_vars

ResponseImpliesDurable ==
    \A r \in responses : r.gen <= durPromised[r.from]

(* A node has at most one promise on its way to storage. *)
NoConcurrentPromises ==
    \A n \in Nodes : Cardinality(pendingWrite[n]) <= 1
===============================================================================
