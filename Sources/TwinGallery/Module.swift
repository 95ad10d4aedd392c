/// # TwinGallery
///
/// `twin gallery`: a private web gallery on 127.0.0.1 that decrypts on this machine. It lists the
/// user's entries and those shared with them as grids of thumbnails grouped by folder, shows and
/// downloads full images, and grants and revokes access. The server it talks to only ever sees
/// the ciphertext and requests it already serves to the command line. The page is reachable only
/// from this machine (loopback, Host checked against DNS rebinding), only with the random token
/// of its first URL (then a SameSite=Strict cookie), never cached, and under a Content-Security-
/// Policy that allows no script at all: the page needs none.
enum TwinGalleryModule {}
