---------------------- MODULE BrokenPaxosIgnoreAccepted ----------------------
(***************************************************************************)
(* Paxos whose proposer, once a majority promised, proposes its own value  *)
(* whatever the promises reported: the Rust variant `ignore-accepted`. The *)
(* .cfg swaps Paxos's MayPropose for MayProposeAnything.                   *)
(*                                                                         *)
(* Expected: TLC reports Agreement violated. Ballot 1's value is chosen;   *)
(* ballot 2 gets promises from a majority, one of them from an acceptor    *)
(* that reports ballot 1's value, and proposes another value, which that   *)
(* majority accepts. No crash is needed.                                   *)
(***************************************************************************)
EXTENDS Paxos

MayProposeAnything(Q, b, v) ==
    \A a \in Q : \E m \in PromisesFrom(Q, b) : m.from = a
=============================================================================
