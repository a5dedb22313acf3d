// Streams: following a prediction's output as server-sent events (the next issue puts its code here).
