// Package imports holds no code: its test enforces DESIGN.md's "who may
// import whom" on the whole module, so that a simulator never ships inside a
// Lambda binary, the engine stays ignorant of workflows and outside systems,
// and the two halves stay apart.
package imports
