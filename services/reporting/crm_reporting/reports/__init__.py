"""Reports: saved pivot definitions, running them under the viewer's scope, and their files."""
