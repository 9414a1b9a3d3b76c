package io.cardinal.state.controller;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.SupernodeRule;

import java.util.HashMap;
import java.util.Map;

/**
 * The controller's own checks on a job spec. The HTTP layer has already checked its shape; here it is checked
 * against the cluster: a request no registered topology could ever satisfy is refused, naming the field.
 */
final class JobSpecRules {
    private JobSpecRules() {
    }

    static void check(JobSpec s, Inventory inv, Topology topology) {
        if (s.getName().isEmpty()) throw Rejection.invalid("name: required");
        if (s.getTenant().isEmpty()) throw Rejection.invalid("tenant: required");
        if (s.getTasks() < 1) throw Rejection.invalid("tasks: must be >= 1, got " + s.getTasks());
        if (s.getCardsPerTask() < 1) throw Rejection.invalid("cardsPerTask: must be >= 1, got " + s.getCardsPerTask());
        if (s.getCommandCount() == 0) throw Rejection.invalid("command: required (a non-empty list)");
        if (s.getMaxSupernodes() < 0) throw Rejection.invalid("topology.maxSupernodes: must be >= 0");
        if (s.getMaxRestarts() < 0) throw Rejection.invalid("restart.maxRestarts: must be >= 0");
        if (inv.nodeIds().isEmpty()) return; // nothing registered yet: it waits, with that reason
        long need = (long) s.getTasks() * s.getCardsPerTask();
        Topology.Counts counts = topology.counts(inv, s.getCardModelsList());
        int largestNode = 0;
        long total = 0;
        long[] perSupernode = new long[counts.supernodes()];
        for (int n = 0; n < counts.matching().length; n++) {
            int matching = counts.matching()[n];
            largestNode = Math.max(largestNode, matching);
            long usable = (long) (matching / s.getCardsPerTask()) * s.getCardsPerTask();
            total += usable;
            perSupernode[counts.supernodeOf()[n]] += usable;
        }
        if (largestNode == 0) {
            throw Rejection.invalid("cardModel: no registered node has a card of model " + String.join("|", s.getCardModelsList()));
        }
        if (s.getCardsPerTask() > largestNode) {
            throw Rejection.invalid("cardsPerTask: " + s.getCardsPerTask() + " cards per task, but the largest node has "
                    + largestNode + " matching cards (a task never spans nodes)");
        }
        if (need > total) {
            throw Rejection.invalid("tasks: " + s.getTasks() + " x " + s.getCardsPerTask() + " = " + need
                    + " cards, but the cluster has only " + total + " matching cards in task-sized groups");
        }
        if (s.getSupernode() == SupernodeRule.SUPERNODE_REQUIRED) {
            long best = 0;
            for (long v : perSupernode) best = Math.max(best, v);
            if (need > best) {
                throw Rejection.invalid("topology.supernode: required, but the largest supernode has " + best
                        + " matching cards and the job needs " + need);
            }
        }
    }
}
