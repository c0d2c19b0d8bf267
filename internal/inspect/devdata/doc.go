// Package devdata reads the labelled development data for the injection detector (the
// shared datasets folder described by its SOURCES.md) into documents, and makes the
// training and evaluation sets from them: positives built by inserting attack texts into
// benign contexts, template groups for splits that never put one template on both sides.
//
// The data is read from where it lies, never copied into the repository.
package devdata
