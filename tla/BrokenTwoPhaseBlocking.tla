----------------------- MODULE BrokenTwoPhaseBlocking -----------------------
(***************************************************************************)
(* Two-phase execution is blocking. This spec is TwoPhaseExecution,        *)
(* unchanged, checked against a claim it cannot meet: that a node which    *)
(* prepared an operation eventually commits or aborts it.                  *)
(*                                                                         *)
(* Expected: TLC reports PreparedNodesDecide violated. The counterexample  *)
(* is the lesson's: a node prepares, the coordinator crashes before its    *)
(* decision, and the node holds the operation forever. It cannot commit    *)
(* (a majority may not have accepted) and cannot abort (the coordinator    *)
(* may have committed, and told someone). Deciding alone is what           *)
(* BrokenTwoPhaseAbortAlone does, and it breaks atomicity instead.         *)
(***************************************************************************)
EXTENDS TwoPhaseExecution

PreparedNodesDecide ==
    \A n \in Nodes, op \in Operations :
        participant[n][op] = "prepared" ~> (participant[n][op] \in Decided \/ n \in down)
=============================================================================
