// Package imports holds no code: its tests enforce "who may import whom"
// (ARCHITECTURE.md) on the whole module: the engine stays ignorant of
// workflows and outside systems, the two halves stay apart, a workflow
// imports only the engine, the clients and shared configuration and never
// another workflow, and every shipped binary is checked with go list -deps,
// built as it ships, so that no Lambda links a test kit, a simulator or a
// stand-in and the citylink CLI links no testing.
package imports
