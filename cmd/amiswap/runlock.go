package main

// This file decides the group lock of a local run: an explicit table, the
// deployed stack's, none on purpose (--no-lock), or none because the
// target is the simulator.

import (
	"context"
	"fmt"
)

// stackOutputLockTable is the stack output that names the lock table
// (see deploy/README.md).
const stackOutputLockTable = "LockTableName"

// lockChoice is the lock a run will use: Table, or none with Why.
type lockChoice struct {
	Table string
	Why   string
}

// chooseLock decides the lock of a run. explicit is --lock-table or
// AMISWAP_LOCK_TABLE. Without it, the table of the deployed stack
// stackName is the default, so that a local run and the stack never swap
// one group at once. With no stack, a run against AWS needs --no-lock (a
// usage error otherwise); against the simulator it runs unlocked.
func chooseLock(ctx context.Context, cf stackDescriber, t *awsTarget, explicit, stackName string, noLock bool) (lockChoice, error) {
	switch {
	case noLock && explicit != "":
		return lockChoice{}, &usageError{"run: give --lock-table or --no-lock, not both"}
	case noLock:
		return lockChoice{Why: "--no-lock: running without a group lock; a deployed amiswap could swap the same group at the same time"}, nil
	case explicit != "":
		return lockChoice{Table: explicit, Why: "lock table " + explicit}, nil
	}
	table, found, err := stackLockTable(ctx, cf, t, stackName)
	if err != nil {
		return lockChoice{}, err
	}
	switch {
	case found && table != "":
		return lockChoice{Table: table, Why: fmt.Sprintf("lock table %s of stack %s", table, stackName)}, nil
	case t.Sim != nil:
		return lockChoice{Why: fmt.Sprintf("no stack %q and no --lock-table: running unlocked against the simulator", stackName)}, nil
	case found:
		return lockChoice{}, &usageError{fmt.Sprintf("run: stack %q in account %s, region %s has no %s output: give --lock-table TABLE, or --no-lock to run without a lock",
			stackName, t.Account, t.Region, stackOutputLockTable)}
	}
	return lockChoice{}, &usageError{fmt.Sprintf("run: no lock table: there is no stack %q in account %s, region %s and no --lock-table; "+
		"give --lock-table TABLE (or --stack-name of the deployed stack), or --no-lock to run without a lock (a deployed amiswap could then swap the same group at the same time)",
		stackName, t.Account, t.Region)}
}

// stackLockTable reads the stack's LockTableName output (see findStack).
// found is false when the stack does not exist: DescribeStacks then fails
// with ValidationError ("If the stack doesn't exist, a ValidationError is
// returned": DescribeStacks, AWS CloudFormation API Reference,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
// A simulator that does not serve CloudFormation has no stack either.
func stackLockTable(ctx context.Context, cf stackDescriber, t *awsTarget, stackName string) (table string, found bool, err error) {
	st, err := findStack(ctx, cf, stackName)
	switch {
	case err != nil && t.Sim != nil:
		// A simulator that does not serve CloudFormation answers with
		// UnknownService or something an SDK cannot read: no stack.
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("run: look up the lock table of stack %q (give --lock-table or --no-lock to skip this): %w", stackName, err)
	case st == nil:
		return "", false, nil
	}
	return st.LockTable, true, nil
}
