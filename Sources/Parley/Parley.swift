// The chat store: conversations, threads and messages on top of ParleyEngine. Its API arrives with
// the chat-store work; for now the module only re-exports what the command-line tool reports.

@_exported import ParleyEngine

/// ParleyDB's version, as `parley --version` prints it.
public enum ParleyVersion {
    public static let string = "0.1.0"
}
