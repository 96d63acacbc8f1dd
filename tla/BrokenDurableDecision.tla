------------------------ MODULE BrokenDurableDecision ------------------------
(***************************************************************************)
(* DurableDecision with the classic bug: the node answers a prepare as     *)
(* soon as it has decided in memory, before its write is durable. A crash  *)
(* between the answer and the end of the write makes the node forget a     *)
(* promise someone already counts on; after the restart it can promise the *)
(* same generation again (the Paxos variant `reply-before-persist`).       *)
(*                                                                         *)
(* Expected: TLC reports ResponseImpliesDurable violated. The shortest     *)
(* counterexample is one step long (the answer exists while storage holds  *)
(* nothing); the whole reachable space has 195,112 states (58 per node,    *)
(* cubed). Only ReceivePrepare and CompleteWrite differ from the correct   *)
(* spec; the rest is the same transition system.                           *)
(***************************************************************************)
EXTENDS Naturals

CONSTANTS Nodes, MaxGeneration

VARIABLES memPromised, durPromised, pendingWrite, responses, crashed

vars == <<memPromised, durPromised, pendingWrite, responses, crashed>>

Generations == 0..MaxGeneration

TypeOK ==
    /\ memPromised \in [Nodes -> Generations]
    /\ durPromised \in [Nodes -> Generations]
    /\ pendingWrite \in [Nodes -> Generations]
    /\ responses \subseteq [from : Nodes, gen : Generations]
    /\ crashed \in [Nodes -> BOOLEAN]

Init ==
    /\ memPromised = [n \in Nodes |-> 0]
    /\ durPromised = [n \in Nodes |-> 0]
    /\ pendingWrite = [n \in Nodes |-> 0]
    /\ responses = {}
    /\ crashed = [n \in Nodes |-> FALSE]

(* The bug: the promise is sent together with the decision. *)
ReceivePrepare(n, g) ==
    /\ ~crashed[n]
    /\ g > memPromised[n]
    /\ memPromised' = [memPromised EXCEPT ![n] = g]
    /\ pendingWrite' = [pendingWrite EXCEPT ![n] = g]
    /\ responses' = responses \cup {[from |-> n, gen |-> g]}
    /\ UNCHANGED <<durPromised, crashed>>

(* The write completes; there is nothing left to answer. *)
CompleteWrite(n) ==
    /\ ~crashed[n]
    /\ pendingWrite[n] > 0
    /\ durPromised' = [durPromised EXCEPT ![n] = pendingWrite[n]]
    /\ pendingWrite' = [pendingWrite EXCEPT ![n] = 0]
    /\ UNCHANGED <<memPromised, responses, crashed>>

CrashAndRecover(n) ==
    /\ ~crashed[n]
    /\ crashed' = [crashed EXCEPT ![n] = TRUE]
    /\ memPromised' = [memPromised EXCEPT ![n] = durPromised[n]]
    /\ pendingWrite' = [pendingWrite EXCEPT ![n] = 0]
    /\ UNCHANGED <<durPromised, responses>>

Restart(n) ==
    /\ crashed[n]
    /\ crashed' = [crashed EXCEPT ![n] = FALSE]
    /\ UNCHANGED <<memPromised, durPromised, pendingWrite, responses>>

Next ==
    \E n \in Nodes :
        \/ \E g \in 1..MaxGeneration : ReceivePrepare(n, g)
        \/ CompleteWrite(n)
        \/ CrashAndRecover(n)
        \/ Restart(n)

Spec == Init /\ [][Next]_vars

ResponseImpliesDurable ==
    \A r \in responses : r.gen <= durPromised[r.from]

MemoryAheadOfDurable ==
    \A n \in Nodes : ~crashed[n] => memPromised[n] >= durPromised[n]

(* Not in the reference's .cfg: the consequence that hurts. A node that is *)
(* up remembers every promise it sent. BrokenDurableDecisionRestart checks *)
(* it.                                                                     *)
PromisesKept ==
    \A r \in responses : crashed[r.from] \/ memPromised[r.from] >= r.gen
===============================================================================
