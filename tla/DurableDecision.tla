--------------------------- MODULE DurableDecision ---------------------------
(***************************************************************************)
(* The durable-decision pattern, on the acceptor side of generation voting *)
(* and Paxos: a node decides in memory at once (so a second request sees   *)
(* the decision), writes the decision to storage, and answers only once    *)
(* the write is durable. A crash loses memory and any write still in       *)
(* flight; the node recovers from what storage holds.                      *)
(*                                                                         *)
(* The rule this spec checks: a node never answers with a promise its disk *)
(* does not hold (ResponseImpliesDurable). BrokenDurableDecision answers   *)
(* before the write is durable and breaks it.                              *)
(*                                                                         *)
(* Same transition system as the reference workshop's spec (so the figures *)
(* compare): with 3 nodes and generations up to 3, 12,167 distinct states, *)
(* that is 23 states per node, cubed (nodes do not interact here).         *)
(*                                                                         *)
(* Termination is not claimed: a node can always crash or restart, so no   *)
(* state is final and TLC's deadlock check passes trivially.               *)
(***************************************************************************)
EXTENDS Naturals

CONSTANTS Nodes,          \* the acceptors
          MaxGeneration   \* generations are 1..MaxGeneration; 0 means "none yet"

VARIABLES memPromised,    \* memPromised[n]: the highest generation n promised, in memory
          durPromised,    \* durPromised[n]: the highest generation n's storage holds
          pendingWrite,   \* pendingWrite[n]: the generation being written, 0 when none
          responses,      \* the promises sent: a set of [from |-> node, gen |-> generation]
          crashed         \* crashed[n]: n is down

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

(* A prepare for generation g reaches n. The promise is made in memory at  *)
(* once, so that a later prepare is judged against it, and its write       *)
(* starts; the reply waits for the write. A write still in flight is       *)
(* superseded by the new one.                                              *)
ReceivePrepare(n, g) ==
    /\ ~crashed[n]
    /\ g > memPromised[n]
    /\ memPromised' = [memPromised EXCEPT ![n] = g]
    /\ pendingWrite' = [pendingWrite EXCEPT ![n] = g]
    /\ UNCHANGED <<durPromised, responses, crashed>>

(* Storage reports n's write durable: only now is the promise sent. *)
CompleteWrite(n) ==
    /\ ~crashed[n]
    /\ pendingWrite[n] > 0
    /\ durPromised' = [durPromised EXCEPT ![n] = pendingWrite[n]]
    /\ responses' = responses \cup {[from |-> n, gen |-> pendingWrite[n]]}
    /\ pendingWrite' = [pendingWrite EXCEPT ![n] = 0]
    /\ UNCHANGED <<memPromised, crashed>>

(* n crashes: memory is rebuilt from storage, an unfinished write is lost. *)
(* Replies already sent cannot be taken back.                              *)
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

(* Whoever received a promise from n can count on it: n's storage holds it. *)
ResponseImpliesDurable ==
    \A r \in responses : r.gen <= durPromised[r.from]

(* A node that is up never knows less than its storage. *)
MemoryAheadOfDurable ==
    \A n \in Nodes : ~crashed[n] => memPromised[n] >= durPromised[n]

(* Not in the reference's .cfg, and it does not change the state count: a  *)
(* node that is up remembers every promise it sent, even across a crash,   *)
(* so it can never promise the same generation twice.                      *)
PromisesKept ==
    \A r \in responses : crashed[r.from] \/ memPromised[r.from] >= r.gen
===============================================================================
