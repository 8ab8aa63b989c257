/**
 * The shipped password blocklist: passwords and password stems that top every published list
 * of leaked passwords, common words people build passwords from, and long ones that pass length
 * rules (keyboard walks, repeated words, passphrases from films and songs). Lowercase; matched
 * after normalization and simple variations (see `isCommonPassword`), so `P@ssw0rd2024!` is
 * caught by `password`. Compiled by hand for this package; kept compact on purpose: it stops the
 * guesses an attacker tries first, and users can add their own (a breached-password service, a
 * larger file) with `createPasswordBlocklist`.
 */
export const DEFAULT_PASSWORD_BLOCKLIST: readonly string[] = Object.freeze(
  `
password passwort passwd motdepasse contrasena contraseña senha wachtwoord salasana haslo parola
letmein welcome welcome1 admin administrator root toor changeme changeit default guest login
master masterkey secret secrets private access accessgranted opensesame trustno1 nopassword
iloveyou iloveu loveyou lovely loveme love123 mylove forever foreverlove sweetheart
sunshine princess princesa starwars superman batman spiderman ironman pokemon pikachu naruto
dragon dragons monkey monkeys shadow shadows football baseball basketball soccer hockey
jordan jordan23 michael michelle jennifer jessica ashley daniel charlie thomas robert matthew
andrew joshua hunter ranger killer buster tigger ginger pepper cookie chocolate cheese
freedom whatever nothing something anything everything qwerty qwertz azerty asdf asdfgh
asdfghjkl zxcvbn zxcvbnm qazwsx qweasd qweasdzxc 1qaz2wsx 1q2w3e4r 1q2w3e4r5t zaq12wsx
zaq1zaq1 qwerty123 qwertyuiop qwertyuiopasdfghjkl poiuytrewq mnbvcxz lkjhgfdsa
abc123 abcd1234 abcdef abcdefg abcdefgh a1b2c3d4 aa123456 123abc 123qwe 1234qwer
123456 1234567 12345678 123456789 1234567890 0123456789 0987654321 987654321 87654321
11111111 00000000 12121212 11223344 12341234 123123123 147258369 159753 159357 741852963
789456123 456789 654321 666666 696969 112233 121212 131313 123321 111222 7777777 88888888
computer internet samsung apple google facebook instagram twitter youtube microsoft windows
linux ubuntu android iphone nintendo playstation xbox minecraft fortnite roblox gaming gamer
matrix zeus hello hello123 helloworld hellokitty goodbye goodluck blessed blessing jesus
jesuschrist christ lord godisgood godbless heaven angel angels angela diamond diamonds
silver golden goldfish rainbow butterfly flower flowers summer winter spring autumn
january february march april june july august september october november december
monday friday saturday sunday weekend holiday vacation birthday happy happiness smile
family friends friend bestfriend myspace mypassword yourpassword newpassword oldpassword
temppassword temp1234 test test123 test1234 testing tester demo sample example qwerty1
pass pass123 pass1234 passw0rd p4ssw0rd letmein1 welcome123 admin123 admin1234 root123
superstar rockstar rockyou popstar moonlight starlight midnight darkness darkside
liverpool chelsea arsenal barcelona realmadrid juventus manchester united yankees cowboys
steelers eagles lakers warriors patriots dolphins packers redskins broncos raiders
mustang corvette ferrari porsche mercedes harley yamaha kawasaki suzuki honda toyota
chicken banana orange cherry strawberry blueberry pineapple watermelon peaches lemon
tiger lion panther jaguar falcon phoenix wolf wolves eagle bear horse horses puppy kitty
kitten doggie snoopy scooby garfield mickey minnie donald winnie tweety bubbles
charlie1 michael1 jordan1 ashley1 hannah amanda nicole samantha elizabeth victoria
alexander alexandra christopher nicholas jonathan benjamin william richard anthony
justin jasmine sophie olivia emily isabella madison taylor brandon tyler austin
soccer1 football1 baseball1 princess1 sunshine1 iloveyou1 iloveyou2 password1 password12
password123 password1234 passwordpassword mypassword1 secret123 trustno1! qwerty12345
letmeinplease pleaseletmein letmeinnow openup opendoor knockknock shalom namaste
whatsup whassup yoyoyo lollipop bubblegum icecream cupcake cupcakes sugar honey honeybunny
babygirl babyboy baby123 sexy sexygirl hottie lovers loveyou2 pussycat
thunder lightning storm tornado hurricane blizzard snowflake snowball
master123 master1 killer1 hunter2 hunter123 dragon1 dragon123 monkey1 monkey123 shadow1
zxcvbnm123 asdfghjkl123 qwertyuiop123 1qaz2wsx3edc 1qazxsw2 qazxswedc qwe123qwe
maythe4thbewithyou maytheforcebewithyou iamyourfather tothemoon hodl bitcoin ethereum
correcthorsebatterystaple correcthorse batterystaple thequickbrownfox thequickbrownfoxjumpsoverthelazydog
ihateyou iloveyousomuch iloveyoutoo iloveyoubaby iloveyouforever iloveme imissyou
youwillneverguess youcantguessit guessme guessit noneofyourbusiness mindyourownbusiness
letitbe letitgo hakunamatata carpediem yolo livelaughlove neverforget nevergiveup
dontforget justdoit believe believeme trustme fuckyou fuckoff whatever1 asshole bitch
administrator1 superuser sysadmin webmaster manager support service server database
postgres mysql oracle office reception staff user username usuario utilisateur benutzer
`
    .split(/\s+/)
    .filter((word) => word.length > 0),
);
