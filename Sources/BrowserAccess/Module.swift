/// # BrowserAccess
///
/// How a page served to a browser (the gallery on a user's machine, the operator's dashboard) is
/// kept to whoever holds its secret: a token handed over once in a link, exchanged for an HttpOnly,
/// SameSite=Strict cookie, and compared in constant time wherever it is presented (`PageToken`).
public enum BrowserAccessModule {}
