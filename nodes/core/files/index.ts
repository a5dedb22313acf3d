// Files: uploading inputs to Replicate's files API and handling file outputs (the next issue puts its code here).
