/* The layering check's libraries need a source file; this one is empty. */
