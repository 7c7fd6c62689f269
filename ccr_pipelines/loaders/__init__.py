"""Loaders: the file reading that core/ does not do (issue 20). They read a file (a configuration file,
an audio file) and hand its content to core's pure parsing and validation."""
