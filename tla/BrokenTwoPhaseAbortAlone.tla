---------------------- MODULE BrokenTwoPhaseAbortAlone ----------------------
(***************************************************************************)
(* The tempting way out of two-phase execution's blocking: a prepared node *)
(* that has waited too long for the decision aborts on its own.            *)
(*                                                                         *)
(* Expected: TLC reports Atomicity violated. The coordinator gathered its  *)
(* majority and decided commit; one node learnt it and applied the         *)
(* increment while another, its commit message still on the way, gave up   *)
(* and aborted. The replicas of the counter now differ for good.           *)
(***************************************************************************)
EXTENDS TwoPhaseExecution

(* The bug: a participant decides alone. *)
AbortAlone(n, op) ==
    /\ n \notin down
    /\ participant[n][op] = "prepared"
    /\ participant' = [participant EXCEPT ![n][op] = "aborted"]
    /\ UNCHANGED <<coordinator, counter, msgs, down>>

BrokenNext ==
    \/ Next
    \/ \E n \in Nodes, op \in Operations : AbortAlone(n, op)
=============================================================================
