package io.cardinal.allocator.model;

/** Whether a job must, should, or need not stay inside one supernode. */
public enum SupernodeRule { REQUIRED, PREFERRED, ANY }
